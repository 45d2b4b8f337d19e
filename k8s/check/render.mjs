// Renders a Kustomize directory the way `kustomize build` does, for the subset of
// Kustomize that k8s/ uses: resources (files and directories), namespace, images, and
// patches (strategic merge, or JSON 6902 with a target). Anything else in a
// kustomization.yaml is an error, so the overlays stay within what is checked here.
// (Debian 12's kubectl 1.20 embeds kustomize 2.0.3, which predates `patches`; CI has
// nothing newer, so the check renders with this.)
import fs from "node:fs";
import path from "node:path";
import yaml from "js-yaml";

const KNOWN_KEYS = new Set(["apiVersion", "kind", "namespace", "resources", "patches", "images"]);
const CLUSTER_SCOPED = new Set(["Namespace", "ClusterRole", "ClusterRoleBinding", "PersistentVolume",
  "StorageClass", "CustomResourceDefinition", "PriorityClass", "IngressClass"]);
// Strategic-merge keys of the lists k8s/ patches; other lists are replaced, as Kustomize does.
const MERGE_KEYS = { containers: "name", initContainers: "name", env: "name", volumes: "name",
  volumeMounts: "mountPath", envFrom: null, imagePullSecrets: "name" };

export function readDocs(file) {
  return yaml.loadAll(fs.readFileSync(file, "utf8")).filter((d) => d != null);
}

function isObject(v) { return v !== null && typeof v === "object" && !Array.isArray(v); }

export function strategicMerge(target, patch) {
  if (!isObject(target) || !isObject(patch)) return structuredClone(patch);
  const out = { ...target };
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) { delete out[k]; continue; }
    const mergeKey = MERGE_KEYS[k];
    if (Array.isArray(v) && Array.isArray(out[k]) && mergeKey) {
      // As Kustomize does: items the patch adds come first, then the merged originals.
      const merged = out[k].map((x) => structuredClone(x));
      const added = [];
      for (const item of v) {
        const i = merged.findIndex((m) => m[mergeKey] === item[mergeKey]);
        if (i >= 0) merged[i] = strategicMerge(merged[i], item);
        else added.push(structuredClone(item));
      }
      out[k] = [...added, ...merged];
    } else if (isObject(v) && isObject(out[k])) {
      out[k] = strategicMerge(out[k], v);
    } else {
      out[k] = structuredClone(v);
    }
  }
  return out;
}

function pointer(p) {
  return p.split("/").slice(1).map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
}

export function jsonPatch(doc, ops, where) {
  const out = structuredClone(doc);
  for (const op of ops) {
    const parts = pointer(op.path);
    const last = parts.pop();
    let parent = out;
    for (const p of parts) {
      parent = Array.isArray(parent) ? parent[Number(p)] : parent?.[p];
      if (parent === undefined) throw new Error(`${where}: ${op.op} ${op.path}: no such path`);
    }
    const has = Array.isArray(parent) ? Number(last) < parent.length || last === "-" : last in parent;
    if (op.op === "replace" || op.op === "remove") {
      if (!has) throw new Error(`${where}: ${op.op} ${op.path}: no such path`);
    }
    if (op.op === "add" || op.op === "replace") {
      if (Array.isArray(parent)) {
        if (last === "-") parent.push(structuredClone(op.value));
        else if (op.op === "add") parent.splice(Number(last), 0, structuredClone(op.value));
        else parent[Number(last)] = structuredClone(op.value);
      } else {
        parent[last] = structuredClone(op.value);
      }
    } else if (op.op === "remove") {
      if (Array.isArray(parent)) parent.splice(Number(last), 1); else delete parent[last];
    } else {
      throw new Error(`${where}: JSON patch op '${op.op}' is not supported`);
    }
  }
  return out;
}

function matches(obj, target) {
  if (!target) return true;
  for (const k of Object.keys(target)) {
    if (!["kind", "name", "group", "version"].includes(k)) throw new Error(`patch target '${k}' is not supported`);
  }
  if (target.kind && obj.kind !== target.kind) return false;
  if (target.name && obj.metadata?.name !== target.name) return false;
  return true;
}

// Every pod spec's containers, wherever the workload keeps its pod template.
export function podSpecs(obj) {
  const specs = [];
  if (obj.kind === "Pod") specs.push(obj.spec);
  if (obj.spec?.template?.spec) specs.push(obj.spec.template.spec);
  if (obj.spec?.jobTemplate?.spec?.template?.spec) specs.push(obj.spec.jobTemplate.spec.template.spec);
  return specs.filter(Boolean);
}

function setImage(image, rule) {
  const at = image.indexOf("@");
  const withoutDigest = at >= 0 ? image.slice(0, at) : image;
  const colon = withoutDigest.lastIndexOf(":");
  const hasTag = colon > withoutDigest.lastIndexOf("/");
  const name = hasTag ? withoutDigest.slice(0, colon) : withoutDigest;
  if (name !== rule.name) return image;
  const tag = rule.newTag !== undefined ? `:${rule.newTag}` : hasTag ? withoutDigest.slice(colon) : "";
  return `${rule.newName ?? name}${rule.digest ? `@${rule.digest}` : tag}`;
}

export function render(dir) {
  const kfile = path.join(dir, "kustomization.yaml");
  if (!fs.existsSync(kfile)) throw new Error(`${dir}: no kustomization.yaml`);
  const k = readDocs(kfile)[0] ?? {};
  for (const key of Object.keys(k)) {
    if (!KNOWN_KEYS.has(key)) throw new Error(`${kfile}: '${key}' is not supported by k8s/check/render.mjs`);
  }
  let objects = [];
  for (const r of k.resources ?? []) {
    const p = path.join(dir, r);
    if (!fs.existsSync(p)) throw new Error(`${kfile}: resource ${r} does not exist`);
    if (fs.statSync(p).isDirectory()) objects.push(...render(p));
    else objects.push(...readDocs(p));
  }
  for (const [i, patch] of (k.patches ?? []).entries()) {
    const where = `${kfile}: patches[${i}]`;
    const docs = patch.path ? readDocs(path.join(dir, patch.path)) : yaml.loadAll(patch.patch ?? "");
    if (docs.length === 1 && Array.isArray(docs[0])) {
      if (!patch.target) throw new Error(`${where}: a JSON 6902 patch needs a target`);
      const hits = objects.filter((o) => matches(o, patch.target));
      if (hits.length === 0) throw new Error(`${where}: the target matches nothing`);
      objects = objects.map((o) => (matches(o, patch.target) ? jsonPatch(o, docs[0], where) : o));
      continue;
    }
    for (const doc of docs) {
      const hit = objects.findIndex((o) => o.kind === doc.kind && o.metadata?.name === doc.metadata?.name &&
        matches(o, patch.target));
      if (hit < 0) throw new Error(`${where}: no ${doc.kind} ${doc.metadata?.name} to patch`);
      objects[hit] = strategicMerge(objects[hit], doc);
    }
  }
  for (const o of objects) {
    if (k.namespace && !CLUSTER_SCOPED.has(o.kind)) o.metadata = { ...o.metadata, namespace: k.namespace };
    for (const rule of k.images ?? []) {
      for (const spec of podSpecs(o)) {
        for (const c of [...(spec.containers ?? []), ...(spec.initContainers ?? [])]) {
          if (c.image) c.image = setImage(c.image, rule);
        }
      }
    }
  }
  return objects;
}
