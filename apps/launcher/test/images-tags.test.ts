import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { KUBERNETES_DIR, OVERLAYS, render, ROOT, workloads } from './kubernetes-support';

const DOCKER_DIR = path.join(ROOT, 'deploy', 'docker');
const COMPOSE_FILE = path.join(ROOT, 'docker-compose.yml');

/**
 * An exact version tag: `1.30.4`, `24.18.0-trixie-slim`, `8.8.3-alpine` (optionally pinned
 * further by a digest). Not `latest`, not a bare major or minor (`node:24`, `redis:7.4-alpine`),
 * not a channel (`stable-alpine`), not no tag at all.
 */
const EXACT_TAG = /^v?\d+\.\d+\.\d+(?:[-.][0-9A-Za-z][0-9A-Za-z.-]*)?$/;

/** The repository and tag of an image reference (`registry:5000/a/b:tag@sha256:…`). */
function splitImage(reference: string): { repository: string; tag: string | undefined } {
  const withoutDigest = reference.split('@')[0]!;
  const lastSlash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.indexOf(':', lastSlash + 1);
  if (colon < 0) return { repository: withoutDigest, tag: undefined };
  return { repository: withoutDigest.slice(0, colon), tag: withoutDigest.slice(colon + 1) };
}

/** Why `reference` names a floating image, or undefined when it names an exact version. */
function floating(reference: string): string | undefined {
  const { tag } = splitImage(reference);
  if (tag === undefined) return 'no tag (latest)';
  return EXACT_TAG.test(tag) ? undefined : `tag ${tag} is not an exact version`;
}

/** Every image a Dockerfile names: the `syntax` frontend, ARG defaults FROM uses, FROM images. */
function dockerfileImages(text: string): string[] {
  const args = Object.fromEntries([...text.matchAll(/^ARG (\w+)=(\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
  const stages = new Set([...text.matchAll(/^FROM\s.*\sAS\s+(\S+)$/gim)].map((m) => m[1]!));
  const images = [...text.matchAll(/^# syntax=(\S+)$/gm)].map((m) => m[1]!);
  for (const [, from] of text.matchAll(/^FROM\s+(?:--\S+\s+)*(\S+)/gm)) {
    const image = from!.replace(/\$\{?(\w+)\}?/g, (_, name: string) => args[name] ?? `$${name}`);
    if (!stages.has(image)) images.push(image);
  }
  return images;
}

/** `${NAME:-default}` → default, as compose interpolates with NAME unset. */
function composeDefault(value: string): string {
  return value.replace(/\$\{\w+:?-([^}]*)\}/g, '$1');
}

const dockerfiles = readdirSync(DOCKER_DIR).filter((name) => name.endsWith('.Dockerfile'));
const compose = parseYaml(readFileSync(COMPOSE_FILE, 'utf8'), { merge: true }) as {
  services: Record<string, { image?: string; build?: unknown }>;
};

describe('image references', () => {
  it('are refused when floating: latest, no tag, a bare major or minor, a channel', () => {
    for (const reference of ['node', 'node:latest', 'node:24', 'redis:7', 'redis:7.4-alpine', 'node:24-trixie-slim']) {
      expect([reference, floating(reference)]).toEqual([reference, expect.any(String)]);
    }
    for (const reference of ['nginx:stable-alpine', 'registry:5000/team/app', 'docker/dockerfile:1']) {
      expect([reference, floating(reference)]).toEqual([reference, expect.any(String)]);
    }
    for (const reference of [
      'node:24.18.0-trixie-slim',
      'nginx:1.30.4-alpine',
      'redis:8.8.3-alpine',
      'a/b:1.2.3@sha256:0',
    ]) {
      expect([reference, floating(reference)]).toEqual([reference, undefined]);
    }
  });

  it('in every Dockerfile are exact versions', () => {
    expect(dockerfiles.length).toBeGreaterThanOrEqual(5);
    for (const file of dockerfiles) {
      const images = dockerfileImages(readFileSync(path.join(DOCKER_DIR, file), 'utf8'));
      expect([file, images.length >= 2]).toEqual([file, true]);
      for (const image of images) expect([file, image, floating(image)]).toEqual([file, image, undefined]);
    }
  });

  it('in docker-compose.yml are exact versions, or tagged builds of this repository (never latest)', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      const image = composeDefault(service.image ?? '');
      if (service.build) {
        expect([name, splitImage(image).repository.startsWith('ctos-realtime/')]).toEqual([name, true]);
        expect([name, splitImage(image).tag ?? 'latest']).not.toEqual([name, 'latest']);
      } else {
        expect([name, image, floating(image)]).toEqual([name, image, undefined]);
      }
    }
  });

  it.each(OVERLAYS)(
    'in the rendered Kubernetes overlay %s are exact versions, ours at the release version',
    async (overlay) => {
      const { version } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
      for (const [name, { pod }] of workloads(await render(overlay))) {
        for (const container of [...(pod.initContainers ?? []), ...pod.containers]) {
          expect([name, container.image, floating(container.image)]).toEqual([name, container.image, undefined]);
          const { repository, tag } = splitImage(container.image);
          if (repository.startsWith('ctos-realtime/')) expect([name, tag]).toEqual([name, version]);
        }
      }
    },
  );

  it('put the images on supported bases: an LTS Node on Debian trixie slim, nginx ≥ 1.27.3', () => {
    const images = dockerfiles.flatMap((file) => dockerfileImages(readFileSync(path.join(DOCKER_DIR, file), 'utf8')));
    const nodeTags = images.filter((image) => splitImage(image).repository === 'node').map((i) => splitImage(i).tag!);
    expect(nodeTags.length).toBeGreaterThanOrEqual(dockerfiles.length);
    for (const tag of nodeTags) {
      // Even majors are the long-term-support lines; trixie is Debian 13.
      expect([tag, Number(tag.split('.')[0]) % 2, Number(tag.split('.')[0]) >= 24]).toEqual([tag, 0, true]);
      expect(tag).toMatch(/-trixie-slim$/);
    }
    const nginx = images.find((image) => splitImage(image).repository === 'nginx')!;
    const [major, minor, patch] = splitImage(nginx).tag!.split(/[.-]/).map(Number);
    expect(major! * 1e6 + minor! * 1e3 + patch!).toBeGreaterThanOrEqual(1_027_003);
  });

  it('keep the project itself on the Node it runs on here (engines stays truthful)', () => {
    const { engines } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
      engines: { node: string };
    };
    const [wantMajor, wantMinor] = engines.node.replace('>=', '').split('.').map(Number);
    const [major, minor] = process.versions.node.split('.').map(Number);
    expect(major! > wantMajor! || (major === wantMajor && minor! >= wantMinor!)).toBe(true);
  });
});

describe("compose's nginx", () => {
  it('re-resolves the gateway service name through Docker’s DNS, so scaling gateways needs no reload', () => {
    const upstreams = readFileSync(path.join(ROOT, 'deploy', 'nginx', 'compose', 'upstream-servers.conf'), 'utf8');
    expect(upstreams).toMatch(/^resolver 127\.0\.0\.11 valid=\d+s\b/m);
    expect(upstreams).toMatch(/^zone \S+ \d+k;$/m);
    expect(upstreams).toMatch(/^server gateway:\d+ resolve\b/m);
  });
});

describe('renovate.json', () => {
  const config = JSON.parse(readFileSync(path.join(ROOT, 'renovate.json'), 'utf8')) as {
    enabledManagers: string[];
    dockerfile: { managerFilePatterns: string[] };
    kubernetes: { managerFilePatterns: string[] };
  };
  const pattern = (patterns: string[]) => (file: string) => patterns.some((p) => new RegExp(p.slice(1, -1)).test(file));
  const yamlFiles = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
      entry.isDirectory()
        ? yamlFiles(path.join(dir, entry.name))
        : /\.ya?ml$/.test(entry.name)
          ? [path.join(dir, entry.name)]
          : [],
    );

  it('keeps Dockerfile, compose and Kubernetes image tags and npm packages current', () => {
    expect([...config.enabledManagers].sort()).toEqual([
      'docker-compose',
      'dockerfile',
      'kubernetes',
      'kustomize',
      'npm',
    ]);
    for (const file of dockerfiles) {
      expect([file, pattern(config.dockerfile.managerFilePatterns)(`deploy/docker/${file}`)]).toEqual([file, true]);
    }
    const manifests = yamlFiles(KUBERNETES_DIR).map((file) => path.relative(ROOT, file));
    expect(manifests.length).toBeGreaterThan(10);
    for (const file of manifests) {
      expect([file, pattern(config.kubernetes.managerFilePatterns)(file)]).toEqual([file, true]);
    }
  });
});
