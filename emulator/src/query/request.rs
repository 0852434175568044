use std::collections::BTreeMap;

/// One Query-protocol call: its `Action`, `Version` and every other parameter.
///
/// Parameters from the URL query string and from a form body are merged (the body wins),
/// which is what AWS accepts: SDKs POST a form, `curl` users often GET.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueryRequest {
    pub action: String,
    pub version: Option<String>,
    params: BTreeMap<String, String>,
}

/// Why a request is not a Query-protocol call at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryParseError {
    #[error("the request has no Action parameter")]
    MissingAction,
    #[error("the request body is not valid form data: {0}")]
    BadForm(String),
}

impl QueryRequest {
    /// Builds a request from the raw URL query (`None` when absent) and a form body
    /// (empty when the request has none or is not `application/x-www-form-urlencoded`).
    pub fn parse(url_query: Option<&str>, form_body: &[u8]) -> Result<Self, QueryParseError> {
        let mut params = BTreeMap::new();
        if let Some(query) = url_query {
            let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query)
                .map_err(|e| QueryParseError::BadForm(e.to_string()))?;
            params.extend(pairs);
        }
        if !form_body.is_empty() {
            let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(form_body)
                .map_err(|e| QueryParseError::BadForm(e.to_string()))?;
            params.extend(pairs);
        }
        let action = params
            .remove("Action")
            .ok_or(QueryParseError::MissingAction)?;
        let version = params.remove("Version");
        Ok(Self {
            action,
            version,
            params,
        })
    }

    /// Builds a request directly (tests, in-process callers).
    pub fn new<'a>(action: &str, params: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Self {
            action: action.to_owned(),
            version: None,
            params: params
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
        }
    }

    /// A parameter's value, `None` when absent.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }

    /// Members of a Query-protocol list such as `ClientIDList.member.1`, `.member.2`, ...
    /// in index order.
    pub fn list(&self, name: &str) -> Vec<&str> {
        let prefix = format!("{name}.member.");
        let mut members: Vec<(u32, &str)> = self
            .params
            .iter()
            .filter_map(|(k, v)| {
                let index = k.strip_prefix(&prefix)?.parse().ok()?;
                Some((index, v.as_str()))
            })
            .collect();
        members.sort_by_key(|(index, _)| *index);
        members.into_iter().map(|(_, v)| v).collect()
    }

    /// Every parameter except `Action` and `Version`.
    pub fn params(&self) -> impl Iterator<Item = (&str, &str)> {
        self.params.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_query_and_body_and_extracts_action() {
        let req = QueryRequest::parse(
            Some("Action=AssumeRoleWithWebIdentity&Version=2011-06-15"),
            b"RoleArn=arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2Fr&RoleSessionName=s",
        )
        .unwrap();
        assert_eq!(req.action, "AssumeRoleWithWebIdentity");
        assert_eq!(req.version.as_deref(), Some("2011-06-15"));
        assert_eq!(req.get("RoleArn"), Some("arn:aws:iam::111122223333:role/r"));
        assert_eq!(req.get("WebIdentityToken"), None);
    }

    #[test]
    fn lists_are_returned_in_index_order() {
        let req = QueryRequest::parse(
            None,
            b"Action=CreateOpenIDConnectProvider&ClientIDList.member.2=b&ClientIDList.member.10=c&ClientIDList.member.1=a",
        )
        .unwrap();
        assert_eq!(req.list("ClientIDList"), vec!["a", "b", "c"]);
    }

    #[test]
    fn missing_action_is_an_error() {
        assert_eq!(
            QueryRequest::parse(Some("Version=1"), b""),
            Err(QueryParseError::MissingAction)
        );
    }
}
