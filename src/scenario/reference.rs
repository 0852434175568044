//! The scenario reference (`docs/scenario-reference.md`), generated from the JSON Schema,
//! so it can never drift from the types and their doc comments.

use serde_json::Value;

fn type_of(schema: &Value) -> String {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.rsplit('/').next().unwrap_or(reference);
        return format!("[{name}](#{})", name.to_lowercase());
    }
    if let Some(first) = schema["allOf"].as_array().and_then(|all| all.first()) {
        return type_of(first);
    }
    if let Some(options) = schema["anyOf"].as_array().or(schema["oneOf"].as_array()) {
        let named: Vec<String> = options
            .iter()
            .map(type_of)
            .filter(|t| t != "null")
            .collect();
        return named.join(" or ");
    }
    if let Some(values) = schema["enum"].as_array() {
        return values
            .iter()
            .map(|v| format!("`{}`", v.as_str().unwrap_or_default()))
            .collect::<Vec<_>>()
            .join(", ");
    }
    match &schema["type"] {
        Value::String(t) if t == "array" => format!("list of {}", type_of(&schema["items"])),
        Value::String(t) if t == "object" && schema["additionalProperties"].is_object() => {
            format!("map of {}", type_of(&schema["additionalProperties"]))
        }
        Value::String(t) => t.clone(),
        Value::Array(ts) => ts
            .iter()
            .filter_map(Value::as_str)
            .filter(|t| *t != "null")
            .collect::<Vec<_>>()
            .join(" or "),
        _ => "any".into(),
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

fn section(out: &mut String, name: &str, schema: &Value) {
    out.push_str(&format!("\n### {name}\n\n"));
    if let Some(text) = schema["description"].as_str() {
        out.push_str(&format!("{}\n\n", one_line(text)));
    }
    if let Some(variants) = schema["oneOf"].as_array().or(schema["anyOf"].as_array()) {
        out.push_str("One of:\n\n");
        for variant in variants {
            let label = match (
                &variant["enum"],
                variant["properties"].as_object(),
                variant["const"].as_str(),
            ) {
                (Value::Array(values), _, _) => values
                    .iter()
                    .map(|v| format!("`{}`", v.as_str().unwrap_or_default()))
                    .collect::<Vec<_>>()
                    .join(", "),
                (_, Some(props), _) => props
                    .iter()
                    .map(|(k, v)| format!("`{k}:` {}", type_of(v)))
                    .collect::<Vec<_>>()
                    .join(", "),
                (_, _, Some(c)) => format!("`{c}`"),
                _ => type_of(variant),
            };
            let text = variant["description"]
                .as_str()
                .map(one_line)
                .unwrap_or_default();
            out.push_str(&format!("- {label}: {text}\n"));
        }
        return;
    }
    let Some(properties) = schema["properties"].as_object() else {
        return;
    };
    let required: Vec<&str> = schema["required"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    out.push_str("| key | type | required | meaning |\n|---|---|---|---|\n");
    for (key, property) in properties {
        let text = property["description"]
            .as_str()
            .map(one_line)
            .unwrap_or_default();
        let needed = if required.contains(&key.as_str()) {
            "yes"
        } else {
            ""
        };
        out.push_str(&format!(
            "| `{key}` | {} | {needed} | {text} |\n",
            type_of(property).replace('|', "\\|")
        ));
    }
}

/// The whole reference as Markdown.
pub fn markdown() -> String {
    let schema: Value = serde_json::from_str(&super::schema::json()).unwrap_or_default();
    let mut out = String::from(
        "# Scenario file reference\n\nGenerated from the scenario types and their documentation (`irsa-lab scenario schema`); \
         do not edit by hand: `cargo test --test scenario_docs` fails when it drifts, and \
         `IRSA_LAB_WRITE_DOCS=1 cargo test --test scenario_docs` rewrites it.\n\n\
         Kubernetes objects (`apply`) are written exactly as for `kubectl apply`; their schemas come from k8s-openapi and are not repeated here.\n",
    );
    section(&mut out, "Scenario", &schema);
    let definitions = schema["definitions"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    for (name, definition) in &definitions {
        if name.starts_with("io.k8s") || name == "KubeObject" {
            continue;
        }
        section(&mut out, name, definition);
    }
    out
}
