#!/usr/bin/env python3
"""A small, strict stand-in for Descope's management API (the v1 tenant, role, permission, flow and
theme calls of `dmgmt plan` and `apply`), in Python 3.11's standard library only: an independent
server in Descope's wire shapes, to time dmgmt against a slower server than its emulator.

    BENCH_KEY=<key> python3 descope_standin.py --seed-from DIR [--renamed 100] [--log FILE]

Binds 127.0.0.1:0, prints its URL as stdout's first line. Holds DIR/environments/bench.yaml's objects
(templates filled) as Descope would after applying it, but with the first `--renamed` tenants named
`<name> (before)`. Wants `Authorization: Bearer <project_id>:<BENCH_KEY>`. Logs each call to --log
(JSON: method, path, status, ms). Errors: Descope's codes E011001-E011004 where known; 404 E011404
(not found), 409 E011409 (conflict), 401 E011401 and 404 E011400 (no route) are choices, as the
product's emulator makes them: Descope documents no answer for those. SIGTERM or Ctrl-C stops it.
"""
import argparse, json, os, re, signal, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

# --- the YAML subset environment files are written in: block maps and lists, flow {..} and [..] ---

def scalar(text):
    t = text.strip()
    if t[:1] in ("'", '"'):
        return json.loads(t) if t[0] == '"' else t[1:-1].replace("''", "'")
    return int(t) if re.fullmatch(r"-?\d+", t) else {"true": True, "false": False, "null": None, "": None}.get(t, t)

def flow_value(s, i):
    """The flow-style value at s[i:], and the index after it."""
    while s[i] == " ":
        i += 1
    if s[i] not in "{[":
        m = re.compile(r'"(?:[^"\\]|\\.)*"|[^,}\]]*').match(s, i)
        return scalar(m.group()), m.end()
    close, out, i = ("}", {}, i + 1) if s[i] == "{" else ("]", [], i + 1)
    while True:
        while s[i] in " ,":
            i += 1
        if s[i] == close:
            return out, i + 1
        if close == "]":
            v, i = flow_value(s, i)
            out.append(v)
        else:
            k = s.index(":", i)
            out[s[i:k].strip()], i = flow_value(s, k + 1)

def parse_yaml(text):
    lines = [(len(l) - len(l.lstrip(" ")), l.strip()) for l in text.splitlines() if l.strip() and l.strip()[0] != "#"]
    pos = 0

    def block(indent):
        nonlocal pos
        seq = lines[pos][1].startswith("- ")
        out = [] if seq else {}
        while pos < len(lines) and lines[pos][0] == indent and lines[pos][1].startswith("- ") == seq:
            text = lines[pos][1][2:] if seq else lines[pos][1]
            if seq and re.match(r"[\w.-]+:( |$)", text):   # `- key: value` opens a block map
                lines[pos] = (indent + 2, text)
                out.append(block(indent + 2))
                continue
            key, _, rest = text.partition(":") if not seq else (None, None, text)
            pos, rest = pos + 1, rest.strip()
            nested = pos < len(lines) and (lines[pos][0] > indent or lines[pos][1].startswith("- ") and not seq)
            value = (flow_value(rest, 0)[0] if rest[:1] in "{[" else scalar(rest)) if rest \
                else block(lines[pos][0]) if nested else None
            out.append(value) if seq else out.__setitem__(key.strip(), value)
        return out

    return block(0)

def fill(doc, scope):
    """`${var.NAME}` filled in every string value (`$${` is a literal `${`), as dmgmt fills templates."""
    if isinstance(doc, dict):
        return {k: fill(v, scope) for k, v in doc.items()}
    if isinstance(doc, list):
        return [fill(v, scope) for v in doc]
    if not isinstance(doc, str):
        return doc
    return "${".join(re.sub(r"\$\{var\.([\w-]+)\}", lambda m: scope[m.group(1)], p) for p in doc.split("$${"))

# --- the project and its errors ---

class Failure(Exception):
    def __init__(self, status, code, description):
        super().__init__(description)
        self.status, self.code, self.description = status, code, description

def bad(desc): return Failure(400, "E011003", desc)   # validation failure
def missing(field): return Failure(400, "E011002", f"missing argument `{field}`")
def invalid(desc): return Failure(400, "E011004", desc)   # invalid arguments
def not_found(desc): return Failure(404, "E011404", desc)
def conflict(desc): return Failure(409, "E011409", desc)

TENANT_EMPTY = {"selfProvisioningDomains": [], "customAttributes": {}, "authType": "", "domains": [], "createdTime": 0,
                "enforceSSO": False, "enforceSSOExclusions": [], "disabled": False, "roleInheritance": "",
                "defaultRoles": [], "federatedAppIds": [], "parent": "", "successors": []}
SYSTEM_PERMISSIONS = ["User Admin", "SSO Admin", "Impersonate"]

class Project:
    def __init__(self):
        self.lock, self.next_id, now = threading.Lock(), 0, int(time.time())
        self.tenants, self.roles, self.perms, self.flows = {}, {}, {}, {}
        self.theme = {"id": "theme", "version": 1, "cssTemplate": {}, "componentsVersion": "", "codeMode": False}
        for name in SYSTEM_PERMISSIONS:   # what every new Descope project holds
            self.add_perm({"name": name, "description": f"Preconfigured `{name}` permission"}, True)
        self.add_role({"name": "Tenant Admin", "description": "Administers the users and SSO settings of a tenant",
                       "permissionNames": SYSTEM_PERMISSIONS}, now)

    def gen(self, prefix):
        self.next_id += 1
        return f"{prefix}{self.next_id:010d}"

    def add_perm(self, b, system=False):
        pid = self.gen("PERM")
        self.perms[pid] = {"id": pid, "name": b["name"], "description": b.get("description") or "", "systemDefault": system}

    def add_role(self, b, now):
        rid = self.gen("ROL")
        self.roles[rid] = {"id": rid, "name": b["name"], "description": b.get("description") or "",
                           "permissionNames": b.get("permissionNames") or [], "createdTime": now,
                           "tenantId": b.get("tenantId") or "", "default": bool(b.get("default")),
                           "private": bool(b.get("private"))}

    def perm_by_name(self, name):
        return next((p for p in self.perms.values() if p["name"] == name), None)

    def role_by_name(self, name, tenant):
        return next((r for r in self.roles.values() if r["name"] == name and r["tenantId"] == tenant), None)

    @staticmethod
    def tenant(tid, name, body, now):
        """A tenant as Descope lists it, every field present; `body` in Descope's field names."""
        out = {k: body.get(k) or empty for k, empty in TENANT_EMPTY.items()}
        return dict(out, id=tid, name=name, createdTime=now, authType=body.get("authType") or "none")

    def seed(self, y, env, renamed):
        now, vars_ = int(time.time()), {k: str(v) for k, v in (y.get("vars") or {}).items()}
        for p in y.get("permissions") or []:
            self.add_perm(p)
        for r in y.get("roles") or []:   # a declared `Tenant Admin` is the preconfigured one, adopted
            old = self.role_by_name(r["name"], r.get("tenant") or "")
            self.roles.pop(old["id"] if old else None, None)
            self.add_role(dict(r, permissionNames=r.get("permissions"), tenantId=r.get("tenant")), now)
        for i, t in enumerate(y.get("tenants") or []):   # config field names to Descope's
            body = {re.sub(r"_(\w)", lambda m: m.group(1).upper(), k).replace("Sso", "SSO"): v for k, v in t.items()}
            self.tenants[t["id"]] = self.tenant(t["id"], f"{t['name']} (before)" if i < renamed else t["name"], body, now)

        def template(entry):
            scope = dict(vars_, **{k: fill(str(v), vars_) for k, v in (entry.get("vars") or {}).items()})
            with open(os.path.join(env, entry["template"]), encoding="utf-8") as f:
                return fill(json.load(f), scope)
        for entry in y.get("flows") or []:
            doc = template(entry)
            self.import_flow(entry["id"], doc["flow"], doc["screens"])
        if y.get("theme"):
            self.import_theme(template(y["theme"])["theme"])

    def import_flow(self, fid, flow, screens):   # as Descope: the call's id wins, the version moves
        old = self.flows.get(fid, {}).get("flow", {}).get("version", 0)
        flow = {"name": fid, **flow, "id": fid, "version": old + 1, "modifiedTime": int(time.time())}
        self.flows[fid] = {"flow": flow, "screens": [dict(s, flowId=fid) for s in screens]}
        return self.flows[fid]

    def import_theme(self, theme):
        self.theme = dict(theme, id="theme", version=self.theme.get("version", 0) + 1)
        return {"theme": self.theme}

# --- the calls; request bodies are strict: unknown keys and wrong types are refused ---

S, B, L, O, I = str, bool, list, dict, int
JSON_TYPE = {S: "a string", B: "a boolean", L: "a list", O: "an object", I: "an integer"}
TENANT = {"id": S, "name": S, "selfProvisioningDomains": L, "customAttributes": O, "enforceSSO": B,
          "enforceSSOExclusions": L, "federatedAppIds": L, "disabled": B, "parent": S, "roleInheritance": S, "authType": S}
ROLE = {"id": S, "name": S, "newName": S, "description": S, "permissionNames": L, "tenantId": S, "default": B, "private": B}

def check(body, fields, required=()):
    if not isinstance(body, dict):
        raise Failure(400, "E011001", "the request body must be a JSON object")
    for k, v in body.items():
        if k not in fields:
            raise bad(f"unknown field `{k}`")
        if v is not None and (not isinstance(v, fields[k]) or isinstance(v, bool) and fields[k] is I):
            raise bad(f"`{k}` must be {JSON_TYPE[fields[k]]}")
        item = O if k in ("roles", "permissions", "screens", "sort") else S
        if fields[k] is L and not all(isinstance(x, item) for x in v or []):
            raise bad(f"`{k}` must be a list of {'objects' if item is O else 'strings'}")
    for k in required:
        if body.get(k) in (None, "", []):
            raise missing(k)
    return body

def tenant_get(p, tid):
    if tid not in p.tenants:
        raise not_found(f"tenant `{tid}` not found")
    return p.tenants[tid]

def tenant_write(p, b, t):
    """`t` as a create or update `b` leaves it: every field of the request replaced, absent ones emptied."""
    if b.get("roleInheritance") not in (None, "", "none", "userOnly"):
        raise invalid("`roleInheritance` must be one of \"\", none, userOnly")
    for k, v in (b.get("customAttributes") or {}).items():
        if not (isinstance(v, (S, I, float)) or isinstance(v, L) and all(isinstance(x, S) for x in v)):
            raise invalid(f"custom attribute `{k}` must be a string, number, boolean or list of strings")
    if any(o["name"] == b["name"] and o["id"] != t["id"] for o in p.tenants.values()):
        raise conflict(f"a tenant named `{b['name']}` already exists")
    new = p.tenant(t["id"], b["name"], b, t["createdTime"])
    p.tenants[t["id"]] = dict(new, authType=b.get("authType") or t["authType"], parent=t["parent"],
                              defaultRoles=t["defaultRoles"], domains=t["domains"])
    return {}

def tenant_create(p, b):
    tid = check(b, TENANT, ("name",)).get("id") or p.gen("T")
    if tid in p.tenants:
        raise conflict(f"a tenant with id `{tid}` already exists")
    if b.get("parent") and b["parent"] not in p.tenants:
        raise invalid(f"parent tenant `{b['parent']}` does not exist")
    tenant_write(p, b, p.tenant(tid, b["name"], {"parent": b.get("parent")}, int(time.time())))
    return {"id": tid}

def tenant_update(p, b):
    t = tenant_get(p, check(b, TENANT, ("id", "name"))["id"])
    if b.get("parent") not in (None, "", t["parent"]):
        raise invalid("`parent` is set at create only")
    return tenant_write(p, b, t)

def tenant_delete(p, b):
    t = tenant_get(p, check(b, {"id": S, "cascade": B}, ("id",))["id"])
    if any(o["parent"] == t["id"] for o in p.tenants.values()):
        raise conflict("tenant has sub-tenants")
    del p.tenants[t["id"]]
    p.roles = {k: r for k, r in p.roles.items() if r["tenantId"] != t["id"]}
    return {}

def default_roles(p, b):
    t = tenant_get(p, check(b, {"id": S, "defaultRoles": L}, ("id",))["id"])
    for n in b.get("defaultRoles") or []:
        if not (p.role_by_name(n, "") or p.role_by_name(n, t["id"])):
            raise invalid(f"default role `{n}` is neither a project role nor a role of tenant `{t['id']}`")
    t["defaultRoles"] = b.get("defaultRoles") or []
    return {}

def tenants_list(p, b):
    check(b, {"tenantIds": L, "tenantNames": L, "tenantSelfProvisioningDomains": L, "customAttributes": O,
              "authType": S, "parentTenantId": S})
    ids, names = set(b.get("tenantIds") or []), set(b.get("tenantNames") or [])
    doms, kids = set(b.get("tenantSelfProvisioningDomains") or []), {}
    for t in p.tenants.values():
        if t["parent"]:
            kids.setdefault(t["parent"], []).append(t["id"])
    return {"tenants": [dict(t, successors=kids.get(t["id"], [])) for t in p.tenants.values()
                        if (not ids or t["id"] in ids) and (not names or t["name"] in names)
                        and (not doms or doms & set(t["selfProvisioningDomains"]))
                        and all(t["customAttributes"].get(k) == v for k, v in (b.get("customAttributes") or {}).items())
                        and b.get("authType") in (None, "", t["authType"])
                        and b.get("parentTenantId") in (None, "", t["parent"])]}

def settings_get(p, q):   # no settings were ever set here: the defaults of a new tenant
    t = tenant_get(p, check(q, {"id": S}, ("id",))["id"])
    return {"enabled": False, "domains": t["domains"], "selfProvisioningDomains": t["selfProvisioningDomains"],
            "authType": t["authType"]}

def find_role(p, b):
    if b.get("id"):
        if b["id"] not in p.roles:
            raise not_found(f"role id `{b['id']}` not found")
        return p.roles[b["id"]]
    r = p.role_by_name(b.get("name") or "", b.get("tenantId") or "")
    if not r:
        raise not_found(f"role `{b.get('name')}` not found") if b.get("name") else missing("name")
    return r

def role_refs(p, perms, tenant):
    if tenant and tenant not in p.tenants:
        raise invalid(f"tenant `{tenant}` does not exist")
    for name in perms or []:
        if not p.perm_by_name(name):
            raise invalid(f"permission `{name}` does not exist")

def role_create(p, b):
    role_refs(p, check(b, ROLE, ("name",)).get("permissionNames"), b.get("tenantId"))
    if p.role_by_name(b["name"], b.get("tenantId") or ""):
        raise conflict(f"role `{b['name']}` already exists")
    p.add_role(b, int(time.time()))

def rename_default_role(p, r, new):   # a tenant's default roles follow a rename or a delete
    for t in p.tenants.values():
        if not r["tenantId"] or t["id"] == r["tenantId"]:
            t["defaultRoles"] = [new if n == r["name"] else n for n in t["defaultRoles"] if new or n != r["name"]]

def role_update(p, b):
    r = find_role(p, check(b, ROLE, ("newName",)))
    role_refs(p, b.get("permissionNames"), "")
    if p.role_by_name(b["newName"], r["tenantId"]) not in (None, r):
        raise conflict(f"role name `{b['newName']}` is taken")
    rename_default_role(p, r, b["newName"])
    r.update(name=b["newName"], description=b.get("description") or "", permissionNames=b.get("permissionNames") or [],
             default=bool(b.get("default")), private=bool(b.get("private")))

def role_delete(p, b):
    r = p.roles.pop(find_role(p, check(b, ROLE))["id"])
    rename_default_role(p, r, None)
    return {}

def role_delete_batch(p, b):
    """By names (in `tenantId`'s scope) or ids; like Descope, an empty filter deletes every role."""
    names, ids = check(b, {"roleNames": L, "tenantId": S, "roleIds": L}).get("roleNames"), b.get("roleIds")
    items = [{"name": n, "tenantId": b.get("tenantId")} for n in names or []] + [{"id": i} for i in ids or []]
    if not items:
        items = [{"id": i} for i, r in p.roles.items() if r["tenantId"] == (b.get("tenantId") or r["tenantId"])]
    return batch(p, items, role_delete)

def perm_create(p, b):
    if p.perm_by_name(check(b, {"name": S, "description": S}, ("name",))["name"]):
        raise conflict(f"permission `{b['name']}` already exists")
    p.add_perm(b)

def changeable_perm(p, perm, what):
    if not perm:
        raise not_found(f"permission `{what}` not found")
    if perm["systemDefault"]:
        raise bad(f"permission `{perm['name']}` is a system default: it cannot be changed or deleted")
    return perm

def perm_update(p, b):
    check(b, {"id": S, "name": S, "newName": S, "description": S}, ("newName",))
    perm = changeable_perm(p, p.perms.get(b.get("id") or "") or p.perm_by_name(b.get("name") or ""), b.get("name"))
    if p.perm_by_name(b["newName"]) not in (None, perm):
        raise conflict(f"permission `{b['newName']}` already exists")
    for r in p.roles.values():   # roles name their permissions: a rename follows there
        r["permissionNames"] = [b["newName"] if n == perm["name"] else n for n in r["permissionNames"]]
    perm.update(name=b["newName"], description=b.get("description") or "")

def perm_delete(p, name):
    del p.perms[changeable_perm(p, p.perm_by_name(name), name)["id"]]
    for r in p.roles.values():
        r["permissionNames"] = [n for n in r["permissionNames"] if n != name]

def batch(p, items, one):
    """All or nothing: after a failure the project is as it was."""
    saved = json.dumps([p.tenants, p.roles, p.perms])
    try:
        for item in items:
            one(p, item)
    except Failure:
        p.tenants, p.roles, p.perms = json.loads(saved)
        raise
    return {}

def roles_search(p, b):
    check(b, {"tenantIds": L, "roleNames": L, "roleNameLike": S, "permissionNames": L, "includeProjectRoles": B,
              "roleIds": L, "text": S, "sort": L})
    ids, like = set(b.get("tenantIds") or []), (b.get("roleNameLike") or "").lower()
    return {"roles": [r for r in p.roles.values()
                      if (not ids or r["tenantId"] in ids or not r["tenantId"] and b.get("includeProjectRoles"))
                      and (not b.get("roleNames") or r["name"] in b["roleNames"])
                      and (not b.get("roleIds") or r["id"] in b["roleIds"]) and like in r["name"].lower()
                      and (not b.get("permissionNames") or set(b["permissionNames"]) & set(r["permissionNames"]))]}

def flow_get(p, b):
    fid = check(b, {"flowId": S}, ("flowId",))["flowId"]
    if fid not in p.flows:
        raise not_found(f"flow `{fid}` not found")
    return p.flows[fid]

def flow_delete(p, b):
    ids = check(b, {"ids": L}, ("ids",))["ids"]
    for fid in ids:
        flow_get(p, {"flowId": fid})
    for fid in ids:
        del p.flows[fid]
    return {}

def flow_list(p, b):
    ids = check(b, {"ids": L}).get("ids")
    flows = [{"id": i, "name": f["flow"].get("name", i), "description": f["flow"].get("description", ""),
              "disabled": bool(f["flow"].get("disabled"))} for i, f in p.flows.items() if not ids or i in ids]
    return {"flows": flows, "total": len(flows)}

def listed(key, one):   # a batch route: `{key: [...]}`, each item as the single call takes it
    return lambda p, b: batch(p, check(b, {key: L}, (key,))[key], one)

ROUTES = {   # (method, path) -> handler(project, JSON body or query parameters) -> answer
    ("GET", "/v1/mgmt/license"): lambda p, q: {"rateLimitTier": "tier1"},
    ("GET", "/v1/mgmt/tenant"): lambda p, q: tenant_get(p, check(q, {"id": S}, ("id",))["id"]),
    ("GET", "/v1/mgmt/tenant/all"): lambda p, q: tenants_list(p, check(q, {})),
    ("POST", "/v1/mgmt/tenant/search"): tenants_list,
    ("POST", "/v1/mgmt/tenant/create"): tenant_create,
    ("POST", "/v1/mgmt/tenant/update"): tenant_update,
    ("POST", "/v1/mgmt/tenant/delete"): tenant_delete,
    ("POST", "/v1/mgmt/tenant/updateDefaultRoles"): default_roles,
    ("GET", "/v1/mgmt/tenant/settings"): settings_get,
    ("GET", "/v1/mgmt/role/all"): lambda p, q: {"roles": list(p.roles.values()), **check(q, {})},
    ("POST", "/v1/mgmt/role/search"): roles_search,
    ("POST", "/v1/mgmt/role/create"): lambda p, b: role_create(p, b) or {},   # checks all, then changes
    ("POST", "/v1/mgmt/role/update"): lambda p, b: role_update(p, b) or {},
    ("POST", "/v1/mgmt/role/delete"): role_delete,
    ("POST", "/v1/mgmt/role/create/batch"): listed("roles", role_create),
    ("POST", "/v1/mgmt/role/update/batch"): listed("roles", role_update),
    ("POST", "/v1/mgmt/role/delete/batch"): role_delete_batch,
    ("GET", "/v1/mgmt/permission/all"): lambda p, q: {"permissions": list(p.perms.values()), **check(q, {})},
    ("POST", "/v1/mgmt/permission/create"): lambda p, b: perm_create(p, b) or {},
    ("POST", "/v1/mgmt/permission/update"): lambda p, b: perm_update(p, b) or {},
    ("POST", "/v1/mgmt/permission/delete"): lambda p, b: perm_delete(p, check(b, {"name": S}, ("name",))["name"]) or {},
    ("POST", "/v1/mgmt/permission/create/batch"): listed("permissions", perm_create),
    ("POST", "/v1/mgmt/permission/update/batch"): listed("permissions", perm_update),
    ("POST", "/v1/mgmt/permission/delete/batch"): listed("names", perm_delete),
    ("POST", "/v1/mgmt/flow/list"): flow_list,
    ("POST", "/v1/mgmt/flow/export"): flow_get,
    ("POST", "/v1/mgmt/flow/import"): lambda p, b: p.import_flow(
        *(check(b, {"flowId": S, "flow": O, "screens": L}, ("flowId", "flow"))[k] for k in ("flowId", "flow")),
        b.get("screens") or []),
    ("POST", "/v1/mgmt/flow/delete"): flow_delete,
    ("POST", "/v1/mgmt/theme/export"): lambda p, b: {"theme": p.theme, **check(b, {})},
    ("POST", "/v1/mgmt/theme/import"): lambda p, b: p.import_theme(check(b, {"theme": O}, ("theme",))["theme"]),
}

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"   # keep-alive: dmgmt pools its connections, as to Descope

    def call(self):
        started, url = time.perf_counter(), urlsplit(self.path)
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            if self.headers.get("Authorization") != self.server.auth:
                raise Failure(401, "E011401", "invalid `Authorization`: expected `Bearer <projectId>:<managementKey>`")
            handler = ROUTES.get((self.command, url.path))
            if not handler:
                known = any(path == url.path for _, path in ROUTES)
                raise Failure(405 if known else 404, "E011405" if known else "E011400", f"no route {self.command} {url.path}")
            if self.command == "GET":
                arg = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
            else:
                try:   # the Python SDK's flow list sends no body at all
                    arg = json.loads(raw) if raw.strip() else {}
                except ValueError:
                    raise Failure(400, "E011001", "the request body is not JSON") from None
            with self.server.project.lock:   # answered from one consistent project
                status, out = 200, json.dumps(handler(self.server.project, arg), separators=(",", ":"))
        except Exception as e:   # a stand-in's own bug still answers in Descope's error shape
            f = e if isinstance(e, Failure) else Failure(500, "E011500", f"stand-in failure: {e!r}")
            status, out = f.status, json.dumps({"errorCode": f.code, "errorDescription": f.description,
                                                "errorMessage": f.description})
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out.encode())))
        self.end_headers()
        self.wfile.write(out.encode())
        line = {"method": self.command, "path": url.path, "status": status,
                "ms": round((time.perf_counter() - started) * 1000, 2)}
        with self.server.log_lock:
            self.server.calls += 1
            if self.server.log:
                self.server.log.write(json.dumps(line) + "\n")
                self.server.log.flush()

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = call

    def log_message(self, *args):
        pass

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed-from", required=True, help="a project folder with environments/bench.yaml")
    ap.add_argument("--renamed", type=int, default=100, help="tenants held under another name (default 100)")
    ap.add_argument("--log", help="append one JSON line per call to this file")
    args = ap.parse_args()
    key = os.environ.get("BENCH_KEY")
    if not key:
        sys.exit("descope_standin: set BENCH_KEY (the management key it accepts)")
    env = os.path.join(args.seed_from, "environments")
    with open(os.path.join(env, "bench.yaml"), encoding="utf-8") as f:
        y = parse_yaml(f.read())
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.project, server.auth = Project(), f"Bearer {y['project_id']}:{key}"
    server.project.seed(y, env, args.renamed)
    server.calls, server.log_lock = 0, threading.Lock()
    server.log = open(args.log, "a", encoding="utf-8") if args.log else None
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    print(f"http://127.0.0.1:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    print(f"descope_standin: {server.calls} calls served", file=sys.stderr)

if __name__ == "__main__":
    main()
