/**
 * @packageDocumentation
 * Composition roots: embedded mode (everything in one process) and the process
 * cluster launcher. The only package that imports services.
 */
export { startEmbedded, type Embedded, type EmbeddedOptions } from './embedded';
export { CONTENT_SECURITY_POLICY } from './static-web';
export {
  startCluster,
  type Cluster,
  type ClusterOptions,
  type ClusterProcessInfo,
  type ClusterRole,
  type ClusterState,
} from './cluster';
export { clusterSettings, loadClusterConfig, type ClusterConfig } from './cluster-config';
