/**
 * @packageDocumentation
 * The gateway: Socket.IO for browsers, authenticated and validated, routed to workers.
 */
export { aiRoutes } from './ai-routes';
export { secretKey, verifyUserToken, type TokenPolicy } from './auth';
export { gatewaySettings, loadGatewayConfig, type GatewayConfig } from './config';
export { createGateway, type Gateway, type GatewayDeps } from './gateway';
export { messageRoutes } from './message-routes';
export { routeModules } from './routes';
export type { GatewayServer, GatewaySocket, RouteContext, RouteModule, SocketData } from './types';
