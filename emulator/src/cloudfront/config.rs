//! What a `DistributionConfig` and an `OriginAccessControlConfig` say, read from the
//! XML the CLI sends (the element tree is kept too, to be echoed back as sent).

use super::errors::CloudFrontError;
use crate::xml_tree::Element;

/// Managed cache policies CloudFront documents, by id: (name, MinTTL, DefaultTTL, MaxTTL).
const MANAGED_CACHE_POLICIES: &[(&str, &str, u64, u64, u64)] = &[
    (
        "658327ea-f89d-4fab-a63d-7e88639e58f6",
        "Managed-CachingOptimized",
        1,
        86_400,
        31_536_000,
    ),
    (
        "4135ea2d-6df8-44a3-9df3-4b5a84be39ad",
        "Managed-CachingDisabled",
        0,
        0,
        0,
    ),
];

/// The legacy cache settings' defaults (`ForwardedValues` with no TTLs given).
const DEFAULT_TTL: u64 = 86_400;
const MAX_TTL: u64 = 31_536_000;

/// How long objects are cached, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ttls {
    pub min: u64,
    pub default: u64,
    pub max: u64,
}

/// One origin of a distribution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub id: String,
    pub domain_name: String,
    /// `OriginPath` (no trailing slash), prepended to every request path.
    pub path: String,
    /// `OriginAccessControlId` (empty: none).
    pub oac_id: String,
}

/// The parts of a `DistributionConfig` the edge acts on.
#[derive(Debug, Clone)]
pub struct DistributionSettings {
    pub caller_reference: String,
    pub enabled: bool,
    pub origins: Vec<Origin>,
    pub target_origin: String,
    pub ttls: Ttls,
    /// The configuration as sent (GetDistribution echoes it).
    pub raw: Element,
}

fn invalid(text: &str) -> CloudFrontError {
    CloudFrontError::InvalidArgument(text.to_owned())
}

fn seconds(element: &Element, name: &str) -> Result<Option<u64>, CloudFrontError> {
    match element.text_of(name) {
        None => Ok(None),
        Some(text) => text
            .parse()
            .map(Some)
            .map_err(|_| invalid(&format!("The parameter {name} is invalid."))),
    }
}

/// `Items` under a `{Quantity, Items}` list, checking that the two agree.
fn items<'a>(list: &'a Element, member: &'a str) -> Result<Vec<&'a Element>, CloudFrontError> {
    let found: Vec<&Element> = list
        .child("Items")
        .map(|items| items.children_named(member).collect())
        .unwrap_or_default();
    let quantity: usize = list
        .text_of("Quantity")
        .ok_or_else(|| invalid("The parameter Quantity is required."))?
        .parse()
        .map_err(|_| invalid("The parameter Quantity is invalid."))?;
    if quantity != found.len() {
        return Err(CloudFrontError::InconsistentQuantities);
    }
    Ok(found)
}

impl DistributionSettings {
    /// Reads a `DistributionConfig`, with CloudFront's errors for what it refuses.
    pub fn parse(root: Element) -> Result<Self, CloudFrontError> {
        if root.name != "DistributionConfig" {
            return Err(CloudFrontError::MalformedInput);
        }
        let required = |name: &str| {
            root.text_of(name)
                .map(str::to_owned)
                .ok_or_else(|| invalid(&format!("The parameter {name} is required.")))
        };
        let caller_reference = required("CallerReference")?;
        let enabled = root
            .bool_of("Enabled")
            .ok_or_else(|| invalid("The parameter Enabled is required."))?;
        let origins_list = root
            .child("Origins")
            .ok_or_else(|| invalid("The parameter Origins is required."))?;
        let mut origins = Vec::new();
        for origin in items(origins_list, "Origin")? {
            let id = origin
                .text_of("Id")
                .ok_or_else(|| invalid("The parameter origin Id is required."))?;
            let domain_name = origin
                .text_of("DomainName")
                .ok_or_else(|| invalid("The parameter origin DomainName is required."))?;
            origins.push(Origin {
                id: id.to_owned(),
                domain_name: domain_name.to_ascii_lowercase(),
                path: origin
                    .text_of("OriginPath")
                    .unwrap_or_default()
                    .trim_end_matches('/')
                    .to_owned(),
                oac_id: origin
                    .text_of("OriginAccessControlId")
                    .unwrap_or_default()
                    .to_owned(),
            });
        }
        if origins.is_empty() {
            return Err(invalid(
                "The parameter Origins must contain at least one origin.",
            ));
        }
        let behavior = root
            .child("DefaultCacheBehavior")
            .ok_or_else(|| invalid("The parameter DefaultCacheBehavior is required."))?;
        let target_origin = behavior
            .text_of("TargetOriginId")
            .ok_or_else(|| invalid("The parameter TargetOriginId is required."))?
            .to_owned();
        if !origins.iter().any(|o| o.id == target_origin) {
            return Err(CloudFrontError::NoSuchOrigin);
        }
        let ttls = match behavior
            .text_of("CachePolicyId")
            .filter(|id| !id.is_empty())
        {
            Some(id) => {
                let (_, _, min, default, max) = MANAGED_CACHE_POLICIES
                    .iter()
                    .find(|(known, ..)| *known == id)
                    .ok_or(CloudFrontError::NoSuchCachePolicy)?;
                if behavior.child("ForwardedValues").is_some() {
                    return Err(invalid(
                        "The parameter ForwardedValues cannot be used when a cache policy is associated to the cache behavior.",
                    ));
                }
                Ttls {
                    min: *min,
                    default: *default,
                    max: *max,
                }
            }
            None => {
                if behavior.child("ForwardedValues").is_none() {
                    return Err(invalid("The parameter ForwardedValues is required."));
                }
                let min = seconds(behavior, "MinTTL")?
                    .ok_or_else(|| invalid("The parameter MinTTL is required."))?;
                let default = seconds(behavior, "DefaultTTL")?.unwrap_or(DEFAULT_TTL.max(min));
                let max = seconds(behavior, "MaxTTL")?.unwrap_or(MAX_TTL.max(default));
                if !(min <= default && default <= max) {
                    return Err(CloudFrontError::InvalidTtlOrder);
                }
                Ttls { min, default, max }
            }
        };
        Ok(Self {
            caller_reference,
            enabled,
            origins,
            target_origin,
            ttls,
            raw: root,
        })
    }

    /// The origin the default cache behaviour sends requests to.
    pub fn origin(&self) -> Option<&Origin> {
        self.origins.iter().find(|o| o.id == self.target_origin)
    }
}

/// An `OriginAccessControlConfig`.
#[derive(Debug, Clone)]
pub struct OacSettings {
    pub name: String,
    /// `always`, `never` or `no-override`.
    pub signing_behavior: String,
    pub raw: Element,
}

impl OacSettings {
    pub fn parse(root: Element) -> Result<Self, CloudFrontError> {
        if root.name != "OriginAccessControlConfig" {
            return Err(CloudFrontError::MalformedInput);
        }
        let field = |name: &str| {
            root.text_of(name)
                .map(str::to_owned)
                .ok_or_else(|| invalid(&format!("The parameter {name} is required.")))
        };
        let name = field("Name")?;
        if field("SigningProtocol")? != "sigv4" {
            return Err(invalid("The parameter SigningProtocol is invalid."));
        }
        let signing_behavior = field("SigningBehavior")?;
        if !["always", "never", "no-override"].contains(&signing_behavior.as_str()) {
            return Err(invalid("The parameter SigningBehavior is invalid."));
        }
        let origin_type = field("OriginAccessControlOriginType")?;
        if !["s3", "mediastore", "mediapackagev2", "lambda"].contains(&origin_type.as_str()) {
            return Err(invalid(
                "The parameter OriginAccessControlOriginType is invalid.",
            ));
        }
        Ok(Self {
            name,
            signing_behavior,
            raw: root,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The OpenUnison guide's cf-config.json as the CLI serialises it.
    pub(crate) const GUIDE_CONFIG: &str = r#"<DistributionConfig xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/"><CallerReference>ou-sts-001</CallerReference><Origins><Quantity>1</Quantity><Items><Origin><Id>S3-openunison-sts-docs</Id><DomainName>openunison-sts-docs.s3.us-east-1.amazonaws.com</DomainName><S3OriginConfig><OriginAccessIdentity></OriginAccessIdentity></S3OriginConfig><OriginAccessControlId>E1OAC</OriginAccessControlId></Origin></Items></Origins><DefaultCacheBehavior><TargetOriginId>S3-openunison-sts-docs</TargetOriginId><TrustedSigners><Enabled>false</Enabled><Quantity>0</Quantity></TrustedSigners><ViewerProtocolPolicy>redirect-to-https</ViewerProtocolPolicy><ForwardedValues><QueryString>false</QueryString><Cookies><Forward>none</Forward></Cookies></ForwardedValues><MinTTL>0</MinTTL></DefaultCacheBehavior><Comment>My ou sts 001</Comment><Enabled>true</Enabled></DistributionConfig>"#;

    fn parse(text: &str) -> Result<DistributionSettings, CloudFrontError> {
        DistributionSettings::parse(Element::parse(text.as_bytes()).unwrap())
    }

    #[test]
    fn guide_config_gets_the_legacy_default_ttls() {
        let settings = parse(GUIDE_CONFIG).unwrap();
        assert_eq!(
            settings.ttls,
            Ttls {
                min: 0,
                default: 86_400,
                max: 31_536_000
            }
        );
        let origin = settings.origin().unwrap();
        assert_eq!(
            origin.domain_name,
            "openunison-sts-docs.s3.us-east-1.amazonaws.com"
        );
        assert_eq!(origin.oac_id, "E1OAC");
    }

    #[test]
    fn managed_cache_policy_sets_the_ttls() {
        let text = GUIDE_CONFIG.replace(
            "<ForwardedValues><QueryString>false</QueryString><Cookies><Forward>none</Forward></Cookies></ForwardedValues><MinTTL>0</MinTTL>",
            "<CachePolicyId>658327ea-f89d-4fab-a63d-7e88639e58f6</CachePolicyId>",
        );
        assert_eq!(parse(&text).unwrap().ttls.min, 1);
        let unknown = text.replace("658327ea", "00000000");
        assert_eq!(
            parse(&unknown).unwrap_err(),
            CloudFrontError::NoSuchCachePolicy
        );
    }

    #[test]
    fn refusals_name_the_problem() {
        let wrong_target = GUIDE_CONFIG.replace(
            "<TargetOriginId>S3-openunison-sts-docs",
            "<TargetOriginId>other",
        );
        assert_eq!(
            parse(&wrong_target).unwrap_err(),
            CloudFrontError::NoSuchOrigin
        );
        let inconsistent = GUIDE_CONFIG.replace("<Quantity>1</Quantity>", "<Quantity>2</Quantity>");
        assert_eq!(
            parse(&inconsistent).unwrap_err(),
            CloudFrontError::InconsistentQuantities
        );
        let bad_order = GUIDE_CONFIG.replace(
            "<MinTTL>0</MinTTL>",
            "<MinTTL>100</MinTTL><DefaultTTL>10</DefaultTTL>",
        );
        assert_eq!(
            parse(&bad_order).unwrap_err(),
            CloudFrontError::InvalidTtlOrder
        );
        let no_cache_settings = GUIDE_CONFIG.replace(
            "<ForwardedValues><QueryString>false</QueryString><Cookies><Forward>none</Forward></Cookies></ForwardedValues><MinTTL>0</MinTTL>",
            "",
        );
        assert_eq!(
            parse(&no_cache_settings).unwrap_err().to_string(),
            "The parameter ForwardedValues is required."
        );
    }

    #[test]
    fn oac_config_is_validated() {
        let good = "<OriginAccessControlConfig><Name>oac-openunison-sts-1</Name><Description>OAC for S3 origin</Description><SigningProtocol>sigv4</SigningProtocol><SigningBehavior>always</SigningBehavior><OriginAccessControlOriginType>s3</OriginAccessControlOriginType></OriginAccessControlConfig>";
        let settings = OacSettings::parse(Element::parse(good.as_bytes()).unwrap()).unwrap();
        assert_eq!(settings.name, "oac-openunison-sts-1");
        let bad = good.replace(">always<", ">sometimes<");
        assert_eq!(
            OacSettings::parse(Element::parse(bad.as_bytes()).unwrap())
                .unwrap_err()
                .to_string(),
            "The parameter SigningBehavior is invalid."
        );
    }
}
