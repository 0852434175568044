//! The IAM Query API subset, with AWS's response shapes.

use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use time::format_description::well_known::Rfc3339;

use super::NAMESPACE;
use super::errors::IamError;
use super::store::{Iam, OidcProvider, Role};
use crate::query::{AwsError, QueryRequest, xml_escape};

/// Answers one IAM call with the XML body of a 200 response, or AWS's error.
pub fn handle_query(iam: &Iam, req: &QueryRequest, request_id: &str) -> Result<String, AwsError> {
    let result = dispatch(iam, req)?;
    let action = &req.action;
    let inner = if result.is_empty() {
        String::new()
    } else {
        format!("<{action}Result>{result}</{action}Result>")
    };
    Ok(format!(
        "<{action}Response xmlns=\"{NAMESPACE}\">{inner}<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata></{action}Response>\n"
    ))
}

fn required<'a>(req: &'a QueryRequest, name: &'static str) -> Result<&'a str, IamError> {
    req.get(name).ok_or(IamError::MissingParameter(name))
}

fn owned(items: Vec<&str>) -> Vec<String> {
    items.into_iter().map(str::to_owned).collect()
}

fn dispatch(iam: &Iam, req: &QueryRequest) -> Result<String, IamError> {
    match req.action.as_str() {
        "CreateOpenIDConnectProvider" => {
            let p = iam.create_provider(
                required(req, "Url")?,
                &owned(req.list("ClientIDList")),
                &owned(req.list("ThumbprintList")),
            )?;
            Ok(format!(
                "<OpenIDConnectProviderArn>{}</OpenIDConnectProviderArn>",
                xml_escape(&p.arn)
            ))
        }
        "GetOpenIDConnectProvider" => Ok(provider_xml(
            &iam.get_provider(required(req, "OpenIDConnectProviderArn")?)?,
        )),
        "ListOpenIDConnectProviders" => {
            let members: String = iam
                .list_providers()
                .iter()
                .map(|p| format!("<member><Arn>{}</Arn></member>", xml_escape(&p.arn)))
                .collect();
            Ok(format!(
                "<OpenIDConnectProviderList>{members}</OpenIDConnectProviderList>"
            ))
        }
        "DeleteOpenIDConnectProvider" => iam
            .delete_provider(required(req, "OpenIDConnectProviderArn")?)
            .map(|()| String::new()),
        "AddClientIDToOpenIDConnectProvider" => iam
            .add_client_id(
                required(req, "OpenIDConnectProviderArn")?,
                required(req, "ClientID")?,
            )
            .map(|()| String::new()),
        "RemoveClientIDFromOpenIDConnectProvider" => iam
            .remove_client_id(
                required(req, "OpenIDConnectProviderArn")?,
                required(req, "ClientID")?,
            )
            .map(|()| String::new()),
        "UpdateOpenIDConnectProviderThumbprint" => iam
            .update_thumbprints(
                required(req, "OpenIDConnectProviderArn")?,
                &owned(req.list("ThumbprintList")),
            )
            .map(|()| String::new()),
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
            Ok(format!(
                "<Role>{}</Role>",
                role_xml(&iam.get_role(&role.name)?)
            ))
        }
        "GetRole" => Ok(format!(
            "<Role>{}</Role>",
            role_xml(&iam.get_role(required(req, "RoleName")?)?)
        )),
        "ListRoles" => {
            let prefix = req.get("PathPrefix").unwrap_or("/");
            let members: String = iam
                .list_roles()
                .iter()
                .filter(|r| r.path.starts_with(prefix))
                .map(|r| format!("<member>{}</member>", role_xml(r)))
                .collect();
            Ok(format!(
                "<IsTruncated>false</IsTruncated><Roles>{members}</Roles>"
            ))
        }
        "DeleteRole" => iam
            .delete_role(required(req, "RoleName")?)
            .map(|()| String::new()),
        "UpdateAssumeRolePolicy" => iam
            .update_trust_policy(required(req, "RoleName")?, required(req, "PolicyDocument")?)
            .map(|()| String::new()),
        "UpdateRole" => iam
            .update_role(
                required(req, "RoleName")?,
                parse_max(req)?,
                req.get("Description"),
            )
            .map(|()| String::new()),
        "AttachRolePolicy" => iam
            .attach_policy(required(req, "RoleName")?, required(req, "PolicyArn")?)
            .map(|()| String::new()),
        "DetachRolePolicy" => iam
            .detach_policy(required(req, "RoleName")?, required(req, "PolicyArn")?)
            .map(|()| String::new()),
        "ListAttachedRolePolicies" => {
            let role = iam.get_role(required(req, "RoleName")?)?;
            let members: String = role
                .attached_policies
                .iter()
                .map(|arn| {
                    let name = arn.rsplit('/').next().unwrap_or(arn);
                    format!(
                        "<member><PolicyName>{}</PolicyName><PolicyArn>{}</PolicyArn></member>",
                        xml_escape(name),
                        xml_escape(arn)
                    )
                })
                .collect();
            Ok(format!(
                "<IsTruncated>false</IsTruncated><AttachedPolicies>{members}</AttachedPolicies>"
            ))
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

fn provider_xml(p: &OidcProvider) -> String {
    let members = |items: &[String]| {
        items
            .iter()
            .map(|i| format!("<member>{}</member>", xml_escape(i)))
            .collect::<String>()
    };
    format!(
        "<ThumbprintList>{}</ThumbprintList><CreateDate>{}</CreateDate><ClientIDList>{}</ClientIDList><Url>{}</Url>",
        members(&p.thumbprints),
        iso(p.created),
        members(&p.client_ids),
        xml_escape(&p.url)
    )
}

fn role_xml(r: &Role) -> String {
    // IAM returns the trust policy URL-encoded; the CLI decodes it.
    let policy = utf8_percent_encode(&r.trust_policy_json, NON_ALPHANUMERIC).to_string();
    let description = r
        .description
        .as_deref()
        .map(|d| format!("<Description>{}</Description>", xml_escape(d)))
        .unwrap_or_default();
    format!(
        "<Path>{}</Path><AssumeRolePolicyDocument>{policy}</AssumeRolePolicyDocument><MaxSessionDuration>{}</MaxSessionDuration><RoleId>{}</RoleId><RoleName>{}</RoleName>{description}<Arn>{}</Arn><CreateDate>{}</CreateDate>",
        xml_escape(&r.path),
        r.max_session_duration,
        r.role_id,
        xml_escape(&r.name),
        xml_escape(&r.arn),
        iso(r.created)
    )
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
