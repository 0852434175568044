/// The parts of a role ARN: `arn:<partition>:iam::<account>:role/<path><name>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleArn {
    pub partition: String,
    pub account: String,
    /// `/` or `/some/path/`.
    pub path: String,
    pub name: String,
}

/// Parses a role ARN; `None` for anything else (an OIDC provider ARN, a user ARN, junk),
/// which STS answers with "Request ARN is invalid".
pub fn parse_role_arn(arn: &str) -> Option<RoleArn> {
    let mut parts = arn.splitn(6, ':');
    let (Some("arn"), Some(partition), Some("iam"), Some(""), Some(account), Some(resource)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    if !partition.starts_with("aws")
        || account.len() != 12
        || !account.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let rest = resource.strip_prefix("role/")?;
    let (path, name) = match rest.rfind('/') {
        Some(i) => (format!("/{}", &rest[..=i]), &rest[i + 1..]),
        None => ("/".to_owned(), rest),
    };
    let valid_name = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b));
    valid_name.then(|| RoleArn {
        partition: partition.to_owned(),
        account: account.to_owned(),
        path,
        name: name.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_role_arns_with_and_without_path() {
        let arn = parse_role_arn("arn:aws:iam::111122223333:role/s3-reader").unwrap();
        assert_eq!((arn.path.as_str(), arn.name.as_str()), ("/", "s3-reader"));
        let arn = parse_role_arn("arn:aws-cn:iam::111122223333:role/team/app/reader").unwrap();
        assert_eq!(
            (arn.partition.as_str(), arn.path.as_str(), arn.name.as_str()),
            ("aws-cn", "/team/app/", "reader")
        );
    }

    #[test]
    fn rejects_other_arns() {
        for bad in [
            "arn:aws:iam::111122223333:oidc-provider/s3.amazonaws.com/b",
            "arn:aws:iam::1111:role/x",
            "arn:aws:sts::111122223333:assumed-role/x/y",
            "arn:aws:iam::111122223333:role/",
            "role/x",
        ] {
            assert_eq!(parse_role_arn(bad), None, "{bad}");
        }
    }
}
