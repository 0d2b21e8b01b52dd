//! The JSON Schema (draft 2020-12) printed by `dmgmt schema`, derived from the same declarations
//! the checks use, for editors' YAML language servers.

use serde_json::{Map, Value as Json, json};

use super::{ENVIRONMENT, FileRole, Format, Object, Ty};

/// The JSON Schema (draft 2020-12) of an environment file, or of a shared file.
pub(crate) fn json_schema(role: FileRole) -> Json {
    let mut root = object_schema(&ENVIRONMENT, role, role == FileRole::Environment);
    if let Json::Object(map) = &mut root {
        map.insert(
            "$schema".into(),
            json!("https://json-schema.org/draft/2020-12/schema"),
        );
        map.insert(
            "$id".into(),
            json!(match role {
                FileRole::Environment => "https://dmgmt.dev/schema/environment.json",
                FileRole::Shared => "https://dmgmt.dev/schema/shared.json",
            }),
        );
        map.insert(
            "title".into(),
            json!(match role {
                FileRole::Environment => "dmgmt environment file",
                FileRole::Shared => "dmgmt shared file",
            }),
        );
        if role == FileRole::Environment {
            // `management_key` is required unless the environment runs against the emulator.
            map.insert("if".into(), json!({"not": {"properties": {"emulator": {"const": true}}, "required": ["emulator"]}}));
            map.insert("then".into(), json!({"required": ["management_key"]}));
        }
    }
    root
}

fn object_schema(obj: &Object, role: FileRole, with_required: bool) -> Json {
    let root = std::ptr::eq(obj, &ENVIRONMENT);
    let mut props = Map::new();
    let mut required = Vec::new();
    for f in obj
        .fields
        .iter()
        .filter(|f| role == FileRole::Environment || !f.env_only)
    {
        // As in `check_file`: top-level mappings may be completed by an included file.
        let mut schema = type_schema(&f.ty, role, !(root && matches!(f.ty, Ty::Object(_))));
        if let Json::Object(m) = &mut schema {
            m.insert("description".into(), json!(f.doc));
        }
        props.insert(f.key.into(), schema);
        if f.required && with_required {
            required.push(f.key);
        }
    }
    json!({"type": "object", "properties": props, "required": required, "additionalProperties": false})
}

fn type_schema(ty: &Ty, role: FileRole, with_required: bool) -> Json {
    match ty {
        Ty::Str(format) => string_schema(*format),
        Ty::Bool => json!({"type": "boolean"}),
        Ty::Int { min, max } => json!({"type": "integer", "minimum": min, "maximum": max}),
        Ty::List(item) => json!({"type": "array", "items": type_schema(item, role, true)}),
        Ty::Object(obj) => object_schema(obj, role, with_required),
        Ty::Dict { keys, values } => {
            json!({"type": "object", "propertyNames": string_schema(*keys), "additionalProperties": type_schema(values, role, true)})
        }
        Ty::Scalar => json!({"type": ["string", "number", "boolean"]}),
        Ty::Attribute => {
            json!({"anyOf": [{"type": ["string", "number", "boolean"]}, {"type": "array", "items": {"type": "string"}}]})
        }
    }
}

fn string_schema(format: Format) -> Json {
    match format {
        Format::Any | Format::Path => json!({"type": "string"}),
        Format::Name => json!({"type": "string", "pattern": "^\\S(.*\\S)?$"}),
        Format::ProjectId => {
            json!({"type": "string", "pattern": "^(P[A-Za-z0-9]{19,63}|.*\\$\\{.*)$"})
        }
        Format::Url => json!({"type": "string", "pattern": "^(https?://|\\$\\{)"}),
        Format::EnvRef => {
            json!({"type": "string", "pattern": "^\\$\\{env\\.[A-Za-z_][A-Za-z0-9_]*\\}$"})
        }
        Format::Id => json!({"type": "string", "pattern": "^([A-Za-z0-9._-]+|.*\\$\\{.*)$"}),
        Format::VarName => json!({"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$"}),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_schema_mirrors_the_declared_fields() {
        let schema = json_schema(FileRole::Environment);
        assert_eq!(schema["required"], json!(["project_id"]));
        assert_eq!(schema["additionalProperties"], json!(false));
        let tenant = &schema["properties"]["tenants"]["items"];
        assert_eq!(tenant["required"], json!(["id", "name"]));
        assert_eq!(
            tenant["properties"]["enforce_sso"]["type"],
            json!("boolean")
        );
        // Retention never prunes the newest backup: the schema refuses `keep_min: 0` as
        // validation does.
        let keep_min = &schema["properties"]["backups"]["properties"]["keep_min"];
        assert_eq!(keep_min["minimum"], json!(1), "{keep_min}");
        let shared = json_schema(FileRole::Shared);
        assert!(shared["properties"].get("project_id").is_none());
        assert_eq!(shared["required"], json!([]));
    }
}
