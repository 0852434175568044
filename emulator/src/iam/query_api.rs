//! The IAM Query API subset, with AWS's response shapes.

use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use time::format_description::well_known::Rfc3339;

use super::NAMESPACE;
use super::errors::IamError;
use super::store::{Iam, OidcProvider, Role};
use crate::query::{AwsError, QueryRequest, XmlWriter};

/// What a successful IAM call returns inside `<{Action}Result>`; `None` for the calls
/// whose answer is only the response metadata.
#[derive(Debug)]
enum Answer {
    ProviderArn(String),
    Provider(OidcProvider),
    Providers(Vec<OidcProvider>),
    Role(Role),
    Roles(Vec<Role>),
    AttachedPolicies(Vec<String>),
}

/// Answers one IAM call with the XML body of a 200 response, or AWS's error.
pub fn handle_query(iam: &Iam, req: &QueryRequest, request_id: &str) -> Result<String, AwsError> {
    let answer = dispatch(iam, req)?;
    let response = format!("{}Response", req.action);
    let mut w = XmlWriter::compact();
    w.open_ns(&response, NAMESPACE);
    if let Some(answer) = answer {
        let result = format!("{}Result", req.action);
        w.open(&result);
        answer.write(&mut w);
        w.close(&result);
    }
    w.open("ResponseMetadata")
        .element("RequestId", request_id)
        .close("ResponseMetadata")
        .close(&response);
    Ok(w.finish())
}

fn required<'a>(req: &'a QueryRequest, name: &'static str) -> Result<&'a str, IamError> {
    req.get(name).ok_or(IamError::MissingParameter(name))
}

fn owned(items: Vec<&str>) -> Vec<String> {
    items.into_iter().map(str::to_owned).collect()
}

fn dispatch(iam: &Iam, req: &QueryRequest) -> Result<Option<Answer>, IamError> {
    let done = |()| None;
    match req.action.as_str() {
        "CreateOpenIDConnectProvider" => {
            let p = iam.create_provider(
                required(req, "Url")?,
                &owned(req.list("ClientIDList")),
                &owned(req.list("ThumbprintList")),
            )?;
            Ok(Some(Answer::ProviderArn(p.arn)))
        }
        "GetOpenIDConnectProvider" => Ok(Some(Answer::Provider(
            iam.get_provider(required(req, "OpenIDConnectProviderArn")?)?,
        ))),
        "ListOpenIDConnectProviders" => Ok(Some(Answer::Providers(iam.list_providers()))),
        "DeleteOpenIDConnectProvider" => iam
            .delete_provider(required(req, "OpenIDConnectProviderArn")?)
            .map(done),
        "AddClientIDToOpenIDConnectProvider" => iam
            .add_client_id(
                required(req, "OpenIDConnectProviderArn")?,
                required(req, "ClientID")?,
            )
            .map(done),
        "RemoveClientIDFromOpenIDConnectProvider" => iam
            .remove_client_id(
                required(req, "OpenIDConnectProviderArn")?,
                required(req, "ClientID")?,
            )
            .map(done),
        "UpdateOpenIDConnectProviderThumbprint" => iam
            .update_thumbprints(
                required(req, "OpenIDConnectProviderArn")?,
                &owned(req.list("ThumbprintList")),
            )
            .map(done),
        "CreateRole" => {
            let max = parse_max(req)?;
            let role = iam.create_role(
                required(req, "RoleName")?,
                req.get("Path"),
                required(req, "AssumeRolePolicyDocument")?,
                max,
            )?;
            if let Some(description) = req.get("Description") {
                iam.update_role(&role.name, None, Some(description))?;
            }
            Ok(Some(Answer::Role(iam.get_role(&role.name)?)))
        }
        "GetRole" => Ok(Some(Answer::Role(
            iam.get_role(required(req, "RoleName")?)?,
        ))),
        "ListRoles" => {
            let prefix = req.get("PathPrefix").unwrap_or("/");
            let roles = iam
                .list_roles()
                .into_iter()
                .filter(|r| r.path.starts_with(prefix))
                .collect();
            Ok(Some(Answer::Roles(roles)))
        }
        "DeleteRole" => iam.delete_role(required(req, "RoleName")?).map(done),
        "UpdateAssumeRolePolicy" => iam
            .update_trust_policy(required(req, "RoleName")?, required(req, "PolicyDocument")?)
            .map(done),
        "UpdateRole" => iam
            .update_role(
                required(req, "RoleName")?,
                parse_max(req)?,
                req.get("Description"),
            )
            .map(done),
        "AttachRolePolicy" => iam
            .attach_policy(required(req, "RoleName")?, required(req, "PolicyArn")?)
            .map(done),
        "DetachRolePolicy" => iam
            .detach_policy(required(req, "RoleName")?, required(req, "PolicyArn")?)
            .map(done),
        "ListAttachedRolePolicies" => {
            let role = iam.get_role(required(req, "RoleName")?)?;
            Ok(Some(Answer::AttachedPolicies(role.attached_policies)))
        }
        other => Err(IamError::InvalidAction(other.to_owned())),
    }
}

fn parse_max(req: &QueryRequest) -> Result<Option<u32>, IamError> {
    req.get("MaxSessionDuration")
        .map(|v| {
            v.parse::<u32>().map_err(|_| {
                IamError::ValidationError(format!(
                    "Invalid MaxSessionDuration {v:?}: expected seconds"
                ))
            })
        })
        .transpose()
}

fn iso(t: time::OffsetDateTime) -> String {
    t.replace_nanosecond(0)
        .unwrap_or(t)
        .format(&Rfc3339)
        .unwrap_or_default()
}

impl Answer {
    fn write(&self, w: &mut XmlWriter) {
        match self {
            Answer::ProviderArn(arn) => {
                w.element("OpenIDConnectProviderArn", arn);
            }
            Answer::Provider(p) => write_provider(w, p),
            Answer::Providers(providers) => {
                w.open("OpenIDConnectProviderList");
                for p in providers {
                    w.open("member").element("Arn", &p.arn).close("member");
                }
                w.close("OpenIDConnectProviderList");
            }
            Answer::Role(role) => {
                w.open("Role");
                write_role(w, role);
                w.close("Role");
            }
            Answer::Roles(roles) => {
                w.element("IsTruncated", "false").open("Roles");
                for role in roles {
                    w.open("member");
                    write_role(w, role);
                    w.close("member");
                }
                w.close("Roles");
            }
            Answer::AttachedPolicies(arns) => {
                w.element("IsTruncated", "false").open("AttachedPolicies");
                for arn in arns {
                    let name = arn.rsplit('/').next().unwrap_or(arn);
                    w.open("member")
                        .element("PolicyName", name)
                        .element("PolicyArn", arn)
                        .close("member");
                }
                w.close("AttachedPolicies");
            }
        }
    }
}

fn members(w: &mut XmlWriter, list: &str, items: &[String]) {
    w.open(list);
    for item in items {
        w.element("member", item);
    }
    w.close(list);
}

fn write_provider(w: &mut XmlWriter, p: &OidcProvider) {
    members(w, "ThumbprintList", &p.thumbprints);
    w.element("CreateDate", &iso(p.created));
    members(w, "ClientIDList", &p.client_ids);
    w.element("Url", &p.url);
}

fn write_role(w: &mut XmlWriter, r: &Role) {
    // IAM returns the trust policy URL-encoded; the CLI decodes it.
    let policy = utf8_percent_encode(&r.trust_policy_json, NON_ALPHANUMERIC).to_string();
    w.element("Path", &r.path)
        .element("AssumeRolePolicyDocument", &policy)
        .element("MaxSessionDuration", &r.max_session_duration.to_string())
        .element("RoleId", &r.role_id)
        .element("RoleName", &r.name);
    if let Some(d) = &r.description {
        w.element("Description", d);
    }
    w.element("Arn", &r.arn)
        .element("CreateDate", &iso(r.created));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock;

    fn call(iam: &Iam, action: &str, params: &[(&str, &str)]) -> Result<String, AwsError> {
        handle_query(
            iam,
            &QueryRequest::new(action, params.iter().copied()),
            "rid",
        )
    }

    #[test]
    fn seed_guide_calls() {
        let iam = Iam::new("111122223333", clock::system());
        let xml = call(
            &iam,
            "CreateOpenIDConnectProvider",
            &[
                ("Url", "https://s3.us-east-1.amazonaws.com/oidc-test"),
                ("ClientIDList.member.1", "sts.amazonaws.com"),
            ],
        )
        .unwrap();
        assert!(xml.starts_with(&format!("<CreateOpenIDConnectProviderResponse xmlns=\"{NAMESPACE}\"><CreateOpenIDConnectProviderResult><OpenIDConnectProviderArn>arn:aws:iam::111122223333:oidc-provider/s3.us-east-1.amazonaws.com/oidc-test</OpenIDConnectProviderArn>")), "{xml}");
        assert!(xml.contains("<RequestId>rid</RequestId>"));

        let err = call(
            &iam,
            "CreateOpenIDConnectProvider",
            &[("Url", "https://s3.us-east-1.amazonaws.com/oidc-test")],
        )
        .unwrap_err();
        assert_eq!(
            (err.code.as_str(), err.status.as_u16()),
            ("EntityAlreadyExists", 409)
        );

        let get = call(
            &iam,
            "GetOpenIDConnectProvider",
            &[(
                "OpenIDConnectProviderArn",
                "arn:aws:iam::111122223333:oidc-provider/s3.us-east-1.amazonaws.com/oidc-test",
            )],
        )
        .unwrap();
        assert!(
            get.contains("<Url>s3.us-east-1.amazonaws.com/oidc-test</Url>")
                && get.contains("<member>sts.amazonaws.com</member>"),
            "{get}"
        );
        let missing = call(
            &iam,
            "GetOpenIDConnectProvider",
            &[(
                "OpenIDConnectProviderArn",
                "arn:aws:iam::111122223333:oidc-provider/x",
            )],
        )
        .unwrap_err();
        assert_eq!(
            (missing.code.as_str(), missing.status.as_u16()),
            ("NoSuchEntity", 404)
        );

        let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111122223333:oidc-provider/s3.us-east-1.amazonaws.com/oidc-test"},"Action":"sts:AssumeRoleWithWebIdentity"}]}"#;
        let role = call(
            &iam,
            "CreateRole",
            &[
                ("RoleName", "s3-reader"),
                ("AssumeRolePolicyDocument", trust),
            ],
        )
        .unwrap();
        assert!(
            role.contains("<RoleName>s3-reader</RoleName>")
                && role.contains("<Arn>arn:aws:iam::111122223333:role/s3-reader</Arn>"),
            "{role}"
        );
        assert!(
            role.contains("<AssumeRolePolicyDocument>%7B%22Version%22"),
            "{role}"
        );
        call(
            &iam,
            "AttachRolePolicy",
            &[
                ("RoleName", "s3-reader"),
                (
                    "PolicyArn",
                    "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess",
                ),
            ],
        )
        .unwrap();
        let attached = call(
            &iam,
            "ListAttachedRolePolicies",
            &[("RoleName", "s3-reader")],
        )
        .unwrap();
        assert!(
            attached.contains("<PolicyName>AmazonS3ReadOnlyAccess</PolicyName>"),
            "{attached}"
        );
        let deleted = call(
            &iam,
            "DeleteOpenIDConnectProvider",
            &[(
                "OpenIDConnectProviderArn",
                "arn:aws:iam::111122223333:oidc-provider/s3.us-east-1.amazonaws.com/oidc-test",
            )],
        )
        .unwrap();
        assert_eq!(
            deleted,
            format!(
                "<DeleteOpenIDConnectProviderResponse xmlns=\"{NAMESPACE}\"><ResponseMetadata><RequestId>rid</RequestId></ResponseMetadata></DeleteOpenIDConnectProviderResponse>\n"
            )
        );
    }

    #[test]
    fn errors_carry_aws_codes() {
        let iam = Iam::new("111122223333", clock::system());
        let e = call(&iam, "CreateRole", &[("RoleName", "r")]).unwrap_err();
        assert_eq!(
            (e.code.as_str(), e.message.as_str()),
            (
                "MissingParameter",
                "The request must contain the parameter AssumeRolePolicyDocument"
            )
        );
        let e = call(
            &iam,
            "CreateRole",
            &[("RoleName", "r"), ("AssumeRolePolicyDocument", "{")],
        )
        .unwrap_err();
        assert_eq!(e.code, "MalformedPolicyDocument");
        let e = call(&iam, "FlyToTheMoon", &[]).unwrap_err();
        assert_eq!(
            (e.code.as_str(), e.message.as_str()),
            (
                "InvalidAction",
                "Could not find operation FlyToTheMoon for version 2010-05-08"
            )
        );
    }
}
