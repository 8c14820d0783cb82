import { aiRoutes } from './ai-routes';
import { messageRoutes } from './message-routes';
import type { RouteContext, RouteModule } from './types';

/**
 * The route modules beside the terminal's, in the order they are wired. The AI and
 * message families add theirs here.
 */
export const routeModules: Array<(context: RouteContext) => RouteModule> = [aiRoutes, messageRoutes];
