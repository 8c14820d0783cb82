// Validates Kubernetes objects against the API's schemas, as kept in the npm packages
// kubernetes-models (the core API groups), @kubernetes-models/gateway-api and
// @kubernetes-models/prometheus-operator: each model's validate() checks required fields,
// types, enums and formats (no cluster needed). Those packages are ES modules only, which jest's
// CommonJS loader cannot import, so the tests run this file with node:
//
//   node kubernetes-schemas.mjs objects.json   →   prints [{kind, name, problem}], [] when all are valid
//
// An object whose apiVersion/kind no package models is a problem too: nothing goes unchecked.
import { readFileSync } from 'node:fs';

/** Packages for the API groups that are not in kubernetes-models. */
const GROUP_PACKAGES = {
  'gateway.networking.k8s.io': '@kubernetes-models/gateway-api/gateway.networking.k8s.io',
  'monitoring.coreos.com': '@kubernetes-models/prometheus-operator/monitoring.coreos.com',
};

/** The model class of `apiVersion` and `kind`, or undefined. */
async function modelOf(apiVersion, kind) {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  const base = GROUP_PACKAGES[group] ?? (group === '' ? 'kubernetes-models' : `kubernetes-models/${group}`);
  try {
    return (await import(`${base}/${version}`))[kind];
  } catch {
    return undefined;
  }
}

/** What is wrong with `object`, or undefined. */
async function problemOf(object) {
  const Model = await modelOf(String(object.apiVersion ?? ''), String(object.kind ?? ''));
  if (typeof Model !== 'function') return `no schema for ${object.apiVersion} ${object.kind}`;
  try {
    new Model(object).validate();
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

const objects = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const problems = [];
for (const object of objects) {
  const problem = await problemOf(object);
  if (problem !== undefined) problems.push({ kind: object.kind, name: object.metadata?.name, problem });
}
process.stdout.write(JSON.stringify(problems));
