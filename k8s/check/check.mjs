// Checks Kustomize overlays without a cluster:
//   node check.mjs DIR...            render each, validate every object against the
//                                    Kubernetes API schema (kubernetes-models: 1.31's
//                                    OpenAPI), then Vetline's rules; exit 1 on any problem
//   node check.mjs --expect DIR      DIR is broken on purpose: pass only when every line of
//                                    DIR/expected.txt is among the problems found
// Rules: only API versions a 1.28+ cluster serves; no Secret objects (values never live
// here); every container non-root, without privilege escalation, with requests and
// limits; every ConfigMap, PVC, Service and port a workload names exists; probes aim
// at a declared port.
import fs from "node:fs";
import path from "node:path";
import { render, podSpecs } from "./render.mjs";

// apiVersion -> kinds, all served by Kubernetes 1.28 and later (none deprecated there).
const SERVED = {
  "v1": ["Namespace", "ConfigMap", "Service", "PersistentVolumeClaim", "ServiceAccount"],
  "apps/v1": ["Deployment", "StatefulSet", "DaemonSet"],
  "batch/v1": ["CronJob", "Job"],
  "autoscaling/v2": ["HorizontalPodAutoscaler"],
  "policy/v1": ["PodDisruptionBudget"],
  "networking.k8s.io/v1": ["NetworkPolicy", "Ingress"],
};
// Operators' resources: no schema ships offline, so their shape is checked here.
const CUSTOM = {
  "postgresql.cnpg.io/v1/Cluster": (o, bad) => {
    if (!(o.spec?.instances >= 2)) bad("spec.instances: run at least 2 instances for failover");
    if (!o.spec?.storage?.size) bad("spec.storage.size is required");
    if (!o.spec?.backup?.barmanObjectStore?.destinationPath) bad("spec.backup.barmanObjectStore.destinationPath: backups are required");
    checkResources(o.spec?.resources, "spec.resources", bad);
  },
  "postgresql.cnpg.io/v1/ScheduledBackup": (o, bad, all) => {
    if (String(o.spec?.schedule ?? "").trim().split(/\s+/).length !== 6) bad("spec.schedule: six fields, seconds first");
    if (!all.some((c) => c.kind === "Cluster" && c.metadata.name === o.spec?.cluster?.name)) bad(`spec.cluster.name: no Cluster ${o.spec?.cluster?.name}`);
  },
  "databases.spotahome.com/v1/RedisFailover": (o, bad) => {
    for (const part of ["redis", "sentinel"]) {
      if (!(o.spec?.[part]?.replicas >= 3)) bad(`spec.${part}.replicas: at least 3`);
      checkResources(o.spec?.[part]?.resources, `spec.${part}.resources`, bad);
      const sc = o.spec?.[part]?.securityContext ?? {};
      if (sc.runAsNonRoot !== true || !(sc.runAsUser > 0)) bad(`spec.${part}.securityContext: runAsNonRoot and a non-zero runAsUser`);
    }
  },
};

function checkResources(r, where, bad) {
  for (const kind of ["requests", "limits"]) {
    for (const what of ["cpu", "memory"]) {
      if (r?.[kind]?.[what] === undefined) bad(`${where}.${kind}.${what} is missing`);
    }
  }
}

async function schemaCheck(o, bad) {
  const kinds = SERVED[o.apiVersion];
  if (!kinds || !kinds.includes(o.kind)) {
    bad(`${o.apiVersion} ${o.kind} is not one of the API versions checked here (served by Kubernetes 1.28+)`);
    return;
  }
  const mod = await import(`kubernetes-models/${o.apiVersion}`);
  try {
    new mod[o.kind](o).validate();
  } catch (e) {
    bad(`schema: ${String(e.message).split("\n").join("; ")}`);
  }
}

function policyCheck(o, all, bad) {
  const has = (kind, name) => all.some((x) => x.kind === kind && x.metadata?.name === name);
  for (const spec of podSpecs(o)) {
    const pod = spec.securityContext ?? {};
    const ports = new Map();
    for (const c of [...(spec.initContainers ?? []), ...(spec.containers ?? [])]) {
      const where = `container ${c.name}`;
      const sc = c.securityContext ?? {};
      const nonRoot = sc.runAsNonRoot ?? pod.runAsNonRoot;
      const user = sc.runAsUser ?? pod.runAsUser;
      if (nonRoot !== true) bad(`${where}: runAsNonRoot must be true`);
      if (user === undefined || user === 0) bad(`${where}: runAsUser must be set and not 0 (root)`);
      if (sc.privileged) bad(`${where}: privileged`);
      if (sc.allowPrivilegeEscalation !== false) bad(`${where}: allowPrivilegeEscalation must be false`);
      checkResources(c.resources, `${where}: resources`, bad);
      for (const p of c.ports ?? []) {
        ports.set(p.containerPort, p);
        if (p.name) ports.set(p.name, p);
      }
      for (const e of c.envFrom ?? []) {
        if (e.configMapRef && !has("ConfigMap", e.configMapRef.name)) bad(`${where}: no ConfigMap ${e.configMapRef.name}`);
      }
      for (const e of c.env ?? []) {
        const cm = e.valueFrom?.configMapKeyRef;
        if (cm && !has("ConfigMap", cm.name)) bad(`${where}: no ConfigMap ${cm.name}`);
      }
      for (const kind of ["startupProbe", "readinessProbe", "livenessProbe"]) {
        const pr = c[kind];
        const port = pr?.grpc?.port ?? pr?.httpGet?.port ?? pr?.tcpSocket?.port;
        if (port !== undefined && !ports.has(port)) bad(`${where}: ${kind} port ${port} is not a container port`);
      }
      if (!c.readinessProbe && (o.kind === "Deployment" || o.kind === "StatefulSet")) bad(`${where}: no readinessProbe`);
    }
    for (const v of spec.volumes ?? []) {
      if (v.persistentVolumeClaim && !has("PersistentVolumeClaim", v.persistentVolumeClaim.claimName)) bad(`volume ${v.name}: no PersistentVolumeClaim ${v.persistentVolumeClaim.claimName}`);
      if (v.configMap && !has("ConfigMap", v.configMap.name)) bad(`volume ${v.name}: no ConfigMap ${v.configMap.name}`);
    }
  }
  if (o.kind === "Service" && o.spec?.selector) {
    const sel = Object.entries(o.spec.selector);
    const targets = all.filter((w) => podTemplateLabels(w) && sel.every(([k, v]) => podTemplateLabels(w)[k] === v));
    if (targets.length === 0) bad("selects no workload's pods");
    for (const p of o.spec.ports ?? []) {
      if (typeof p.targetPort === "string" && !targets.some((w) => podSpecs(w).some((s) => s.containers.some((c) => (c.ports ?? []).some((cp) => cp.name === p.targetPort))))) {
        bad(`port ${p.name}: targetPort ${p.targetPort} is no container port of its pods`);
      }
    }
  }
  const ref = o.kind === "HorizontalPodAutoscaler" ? o.spec?.scaleTargetRef : null;
  if (ref && !has(ref.kind, ref.name)) bad(`scaleTargetRef: no ${ref.kind} ${ref.name}`);
  if (o.kind === "PodDisruptionBudget") {
    const sel = Object.entries(o.spec?.selector?.matchLabels ?? {});
    if (!all.some((w) => podTemplateLabels(w) && sel.every(([k, v]) => podTemplateLabels(w)[k] === v))) bad("selects no workload's pods");
  }
  if (o.kind === "Ingress") {
    for (const r of o.spec?.rules ?? []) {
      for (const p of r.http?.paths ?? []) {
        const s = p.backend?.service;
        const svc = all.find((x) => x.kind === "Service" && x.metadata.name === s?.name);
        if (!svc) bad(`backend: no Service ${s?.name}`);
        else if (!(svc.spec.ports ?? []).some((sp) => sp.name === s.port?.name || sp.port === s.port?.number)) bad(`backend: Service ${s.name} has no port ${JSON.stringify(s.port)}`);
      }
    }
  }
  if (o.kind === "Secret") bad("Secrets are created by the operator (docs/operations.md), never committed");
}

function podTemplateLabels(w) {
  if (w.kind === "CronJob" || w.kind === "Job") return null;
  return w.spec?.template?.metadata?.labels ?? null;
}

export async function check(dir) {
  const problems = [];
  let objects;
  try {
    objects = render(dir);
  } catch (e) {
    return { problems: [`render: ${e.message}`], count: 0 };
  }
  const seen = new Set();
  for (const o of objects) {
    const id = `${o.kind}/${o.metadata?.name}`;
    const bad = (msg) => problems.push(`${id}: ${msg}`);
    if (!o.metadata?.name) bad("metadata.name is missing");
    const key = `${o.apiVersion}/${id}/${o.metadata?.namespace ?? ""}`;
    if (seen.has(key)) bad("defined twice");
    seen.add(key);
    const custom = CUSTOM[`${o.apiVersion}/${o.kind}`];
    if (custom) custom(o, bad, objects);
    else await schemaCheck(o, bad);
    policyCheck(o, objects, bad);
  }
  return { problems, count: objects.length };
}

async function main(args) {
  if (args[0] === "--expect") {
    const dir = args[1];
    const expected = fs.readFileSync(path.join(dir, "expected.txt"), "utf8").split("\n").filter((l) => l.trim() && !l.startsWith("#"));
    const { problems } = await check(dir);
    const missing = expected.filter((e) => !problems.some((p) => p.includes(e)));
    for (const p of problems) console.log(`found: ${p}`);
    for (const m of missing) console.log(`NOT FOUND: ${m}`);
    console.log(`${expected.length - missing.length} passed, ${missing.length} failed`);
    return missing.length === 0 ? 0 : 1;
  }
  let failed = 0;
  for (const dir of args) {
    const { problems, count } = await check(dir);
    for (const p of problems) console.log(`${dir}: ${p}`);
    console.log(`${dir}: ${count} objects, ${problems.length} problems`);
    if (problems.length) failed++;
  }
  console.log(`${args.length - failed} passed, ${failed} failed`);
  return failed ? 1 : 0;
}

process.exitCode = await main(process.argv.slice(2));
