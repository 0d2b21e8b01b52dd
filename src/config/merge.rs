//! Merging an environment with the shared files it includes (docs/configuration.md, "Merging"):
//! mappings merge deeply, resource lists merge by their key and a later definition replaces the
//! earlier one whole, every other value is replaced. Positions survive, so a merged value still
//! names its own file and line.

use super::yaml::{Key, Node, Value};

/// The key that identifies an entry of a resource list, if `list` is one.
pub(crate) fn resource_key(list: &str, entry: &Node) -> Option<String> {
    let get = |k: &str| entry.get(k).and_then(Node::as_str);
    match list {
        "permissions" => get("name").map(str::to_owned),
        // A role is (tenant, name); `/` cannot appear in a tenant id.
        "roles" => get("name").map(|n| format!("{}/{n}", get("tenant").unwrap_or(""))),
        "tenants" | "flows" => get("id").map(str::to_owned),
        _ => None,
    }
}

/// Overlays `top` on `base`. `path` is the dotted location of the two values ("" for the root).
pub(crate) fn merge(base: Node, top: Node, path: &str) -> Node {
    match (base.value, top.value) {
        (Value::Map(base_entries), Value::Map(top_entries)) => {
            let mut entries = base_entries;
            for (key, value) in top_entries {
                let child = if path.is_empty() {
                    key.name.clone()
                } else {
                    format!("{path}.{}", key.name)
                };
                match entries.iter().position(|(k, _)| k.name == key.name) {
                    Some(i) => {
                        let (_, old) = entries.remove(i);
                        entries.insert(i, (key, merge(old, value, &child)));
                    }
                    None => entries.push((key, value)),
                }
            }
            Node {
                value: Value::Map(entries),
                span: top.span,
            }
        }
        (Value::Seq(base_items), Value::Seq(top_items)) if is_resource_list(path) => Node {
            value: Value::Seq(merge_by_key(path, base_items, top_items)),
            span: top.span,
        },
        (_, value) => Node {
            value,
            span: top.span,
        },
    }
}

fn is_resource_list(path: &str) -> bool {
    matches!(path, "permissions" | "roles" | "tenants" | "flows")
}

fn merge_by_key(list: &str, base: Vec<Node>, top: Vec<Node>) -> Vec<Node> {
    let mut out = base;
    for item in top {
        let key = resource_key(list, &item);
        let existing = key.as_ref().and_then(|k| {
            out.iter()
                .position(|e| resource_key(list, e).as_ref() == Some(k))
        });
        match existing {
            Some(i) => out[i] = item,
            None => out.push(item),
        }
    }
    out
}

/// Removes `key` from a mapping, returning its value.
pub(crate) fn take_key(node: &mut Node, key: &str) -> Option<(Key, Node)> {
    match &mut node.value {
        Value::Map(entries) => {
            let i = entries.iter().position(|(k, _)| k.name == key)?;
            Some(entries.remove(i))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::source::SourceMap;
    use super::super::yaml::parse;
    use super::*;

    fn tree(map: &mut SourceMap, name: &str, text: &str) -> Node {
        let file = map.add(name.into(), name.into(), text.into());
        parse(file, text).root.unwrap()
    }

    #[test]
    fn maps_merge_deeply_and_scalars_are_replaced() {
        let mut map = SourceMap::default();
        let base = tree(
            &mut map,
            "common.yaml",
            "vars: {a: 1, b: 2}\nparallelism: 2\n",
        );
        let top = tree(&mut map, "env.yaml", "vars: {b: 3, c: 4}\nparallelism: 8\n");
        let merged = merge(base, top, "");
        assert_eq!(
            merged.to_json(),
            serde_json::json!({"vars": {"a": 1, "b": 3, "c": 4}, "parallelism": 8})
        );
    }

    #[test]
    fn resource_lists_merge_by_key_and_later_replaces_whole() {
        let mut map = SourceMap::default();
        let base = tree(
            &mut map,
            "common.yaml",
            "roles:\n  - {name: Viewer, description: old, permissions: [a]}\n  - {name: Viewer, tenant: acme}\n",
        );
        let top = tree(
            &mut map,
            "env.yaml",
            "roles:\n  - {name: Viewer, description: new}\n  - {name: Admin}\n",
        );
        let merged = merge(base, top, "");
        assert_eq!(
            merged.to_json()["roles"],
            serde_json::json!([
                {"name": "Viewer", "description": "new"},
                {"name": "Viewer", "tenant": "acme"},
                {"name": "Admin"}
            ])
        );
    }

    #[test]
    fn merged_values_keep_their_own_file() {
        let mut map = SourceMap::default();
        let base = tree(&mut map, "common.yaml", "permissions:\n  - name: a\n");
        let top = tree(&mut map, "env.yaml", "permissions:\n  - name: b\n");
        let base_file = base.span.file;
        let merged = merge(base, top, "");
        let items = merged.get("permissions").unwrap().as_seq().unwrap();
        assert_eq!(items[0].span.file, base_file);
        assert_ne!(items[1].span.file, base_file);
    }
}
