import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';

/** The repository's root. */
export const ROOT = path.resolve(__dirname, '../../..');
export const KUBERNETES_DIR = path.join(ROOT, 'deploy', 'kubernetes');
/**
 * kubectl (v1.32 here) with its built-in kustomize v5: a prerequisite of these tests, on
 * the machines this project is built on (from Google's Cloud SDK apt repository; Debian's
 * own kubernetes-client is 1.20, too old). Renders only: no cluster is contacted. Where
 * it is missing the tests fail, saying so; they never pass without it.
 */
export const KUBECTL = '/usr/bin/kubectl';
/** The overlays an operator applies. */
export const OVERLAYS = ['dev', 'prod'] as const;
export type Overlay = (typeof OVERLAYS)[number];

/** The services built from this repository that run in pods, by their `app.kubernetes.io/name`. */
export const SERVICES = ['gateway', 'terminal-worker', 'ai-worker', 'message-worker'] as const;

export interface Metadata {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

export interface Probe {
  httpGet?: { path: string; port: string | number };
  exec?: { command: string[] };
  tcpSocket?: { port: string | number };
}

export interface SecurityContext {
  runAsUser?: number;
  runAsGroup?: number;
  runAsNonRoot?: boolean;
  fsGroup?: number;
  allowPrivilegeEscalation?: boolean;
  readOnlyRootFilesystem?: boolean;
  capabilities?: { add?: string[]; drop?: string[] };
  seccompProfile?: { type: string };
}

export interface Container {
  name: string;
  image: string;
  command?: string[];
  ports?: { name?: string; containerPort: number }[];
  env?: { name: string; value?: string; valueFrom?: unknown }[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  volumeMounts?: { name: string; mountPath: string; subPath?: string }[];
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  startupProbe?: Probe;
  lifecycle?: { preStop?: { sleep?: { seconds: number }; exec?: unknown } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: SecurityContext;
}

export interface Volume {
  name: string;
  secret?: { secretName: string; defaultMode?: number; items?: { key: string; path: string }[] };
  configMap?: { name: string };
  persistentVolumeClaim?: { claimName: string };
  emptyDir?: unknown;
}

export interface PodSpec {
  automountServiceAccountToken?: boolean;
  enableServiceLinks?: boolean;
  terminationGracePeriodSeconds?: number;
  securityContext?: SecurityContext;
  initContainers?: Container[];
  containers: Container[];
  volumes?: Volume[];
  affinity?: { podAntiAffinity?: { preferredDuringSchedulingIgnoredDuringExecution?: unknown[] } };
}

/** One rendered object; `spec` and `data` are read by each test as it needs. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: Metadata;
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
}

/** A Deployment or StatefulSet, reduced to what the tests read. */
export interface Workload {
  kind: string;
  name: string;
  replicas: number;
  labels: Record<string, string>;
  pod: PodSpec;
}

/** Runs `file` with `args` → its standard output and error; rejects with its standard error when it fails. */
export function run(file: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${path.basename(file)} ${args.join(' ')}: ${stderr || error.message}`));
      else resolve({ stdout, stderr });
    });
  });
}

/** `kubectl kustomize` of an overlay, every document parsed. */
export async function render(overlay: Overlay): Promise<K8sObject[]> {
  if (!existsSync(KUBECTL))
    throw new Error(`${KUBECTL} is missing: install kubectl (with kustomize v5) to render deploy/kubernetes`);
  const { stdout } = await run(KUBECTL, ['kustomize', path.join(KUBERNETES_DIR, 'overlays', overlay)]);
  return parseAllDocuments(stdout).map((document) => document.toJSON() as K8sObject);
}

/** Problems the Kubernetes API schemas find in `objects` (kubernetes-schemas.mjs), [] when none. */
export async function schemaProblems(objects: unknown[]): Promise<unknown[]> {
  const dir = mkdtempSync(path.join(tmpdir(), 'ctos-k8s-schemas-'));
  try {
    const file = path.join(dir, 'objects.json');
    writeFileSync(file, JSON.stringify(objects));
    const { stdout } = await run(process.execPath, [path.join(__dirname, 'kubernetes-schemas.mjs'), file]);
    return JSON.parse(stdout) as unknown[];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The Deployments and StatefulSets, by their pods' `app.kubernetes.io/name`. */
export function workloads(objects: K8sObject[]): Map<string, Workload> {
  const found = new Map<string, Workload>();
  for (const object of objects) {
    if (object.kind !== 'Deployment' && object.kind !== 'StatefulSet') continue;
    const spec = object.spec as { replicas?: number; template: { metadata: Metadata; spec: PodSpec } };
    const labels = spec.template.metadata.labels ?? {};
    found.set(labels['app.kubernetes.io/name']!, {
      kind: object.kind,
      name: object.metadata.name,
      replicas: spec.replicas ?? 1,
      labels,
      pod: spec.template.spec,
    });
  }
  return found;
}

/** Objects of `kind`. */
export function ofKind<T = Record<string, unknown>>(objects: K8sObject[], kind: string): (K8sObject & { spec: T })[] {
  return objects.filter((object) => object.kind === kind) as (K8sObject & { spec: T })[];
}

/** Whether `labels` satisfy `selector` (matchLabels and the In/NotIn/Exists expressions). */
export function selects(selector: LabelSelector, labels: Record<string, string>): boolean {
  const labelsMatch = Object.entries(selector.matchLabels ?? {}).every(([key, value]) => labels[key] === value);
  const expressionsMatch = (selector.matchExpressions ?? []).every(({ key, operator, values = [] }) => {
    if (operator === 'In') return values.includes(labels[key]!);
    if (operator === 'NotIn') return !values.includes(labels[key]!);
    if (operator === 'Exists') return key in labels;
    return !(key in labels);
  });
  return labelsMatch && expressionsMatch;
}

/** The port number a probe names, by number or by the container's port name. */
export function probePort(container: Container, probe: Probe | undefined): number | undefined {
  const port = probe?.httpGet?.port;
  if (typeof port === 'number') return port;
  return container.ports?.find((p) => p.name === port)?.containerPort;
}
