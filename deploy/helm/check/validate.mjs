// Checks a rendered chart (`helm template` output on stdin):
//  1. every object validates against its Kubernetes (or prometheus-operator) schema
//     (kubernetes-models' validate(); an unknown apiVersion/kind is an error, not a skip);
//  2. the chart's own promises hold: non-root, read-only, no privilege escalation, all
//     capabilities dropped, gRPC probes, resource requests;
//  3. --expect KIND=N (object counts) and --expect gpu=N (the container's GPU limit).
// Exits 1 listing every problem found.
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";

const expects = [];
for (let i = 2; i < process.argv.length; i++) {
  if (process.argv[i] !== "--expect") throw new Error(`unknown argument ${process.argv[i]}`);
  const [key, n] = process.argv[++i].split("=");
  expects.push([key, Number(n)]);
}

// apiVersion -> the module holding its model classes.
function moduleFor(apiVersion) {
  if (apiVersion === "monitoring.coreos.com/v1") return "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1";
  return `kubernetes-models/${apiVersion}`;  // "v1" (core) or "group/version"
}

const problems = [];
const counts = {};
let gpuLimit = 0;
const docs = parseAllDocuments(readFileSync(0, "utf8")).map((d) => d.toJS()).filter((d) => d);

for (const obj of docs) {
  const where = `${obj.kind}/${obj.metadata?.name}`;
  counts[obj.kind] = (counts[obj.kind] ?? 0) + 1;
  let mod;
  try {
    mod = await import(moduleFor(obj.apiVersion));
  } catch {
    problems.push(`${where}: no schema for apiVersion ${obj.apiVersion}`);
    continue;
  }
  const Model = mod[obj.kind];
  if (!Model) {
    problems.push(`${where}: no kind ${obj.kind} in ${obj.apiVersion}`);
    continue;
  }
  try {
    new Model(obj).validate();
  } catch (e) {
    problems.push(`${where}: ${e.message}`);
  }
  if (obj.kind === "Deployment") checkPod(where, obj.spec.template.spec);
}

function checkPod(where, pod) {
  const need = (cond, what) => cond || problems.push(`${where}: ${what}`);
  need(pod.securityContext?.runAsNonRoot === true, "pod securityContext.runAsNonRoot is not true");
  need(pod.automountServiceAccountToken === false, "service account token is mounted");
  for (const c of pod.containers) {
    const sc = c.securityContext ?? {};
    need(sc.runAsNonRoot === true, `${c.name}: runAsNonRoot is not true`);
    need(sc.readOnlyRootFilesystem === true, `${c.name}: root filesystem is writable`);
    need(sc.allowPrivilegeEscalation === false, `${c.name}: privilege escalation allowed`);
    need(sc.privileged !== true, `${c.name}: privileged`);
    need((sc.capabilities?.drop ?? []).includes("ALL"), `${c.name}: capabilities not dropped (ALL)`);
    for (const p of ["startupProbe", "livenessProbe", "readinessProbe"])
      need(c[p]?.grpc?.port > 0, `${c.name}: ${p} is not a gRPC probe`);
    need(c.resources?.requests?.cpu && c.resources?.requests?.memory, `${c.name}: no cpu/memory requests`);
    gpuLimit += Number(c.resources?.limits?.["nvidia.com/gpu"] ?? 0);
  }
}

for (const [key, n] of expects) {
  const got = key === "gpu" ? gpuLimit : counts[key] ?? 0;
  if (got !== n) problems.push(`expected ${key}=${n}, rendered ${got}`);
}

if (problems.length) {
  console.error(problems.map((p) => `  ${p}`).join("\n"));
  process.exit(1);
}
console.log(`  ${docs.length} objects valid: ${Object.entries(counts).map(([k, v]) => `${k}=${v}`).join(" ")}`);
