//! The subscription-key check (pipeline.md §8): which subscription, product and user a request
//! runs as, or the 401 outcome.

use chrono::{DateTime, Utc};

use crate::errors::PipelineError;
use crate::http::{HeaderMap, Url};
use crate::service::{
    Api, Product, ProductState, ServiceDefinition, Subscription, SubscriptionScope,
    SubscriptionState, User,
};

/// What the request runs as after the key check.
#[derive(Debug, Clone, Default)]
pub struct Caller<'a> {
    /// `context.Subscription`; `None` for keyless calls.
    pub subscription: Option<&'a Subscription>,
    /// The key this call used (`context.Subscription.Key`).
    pub key: Option<String>,
    /// `context.Product`: set only in a product context (product-scoped key, or open product).
    /// Product-scope policies run only when this is set.
    pub product: Option<&'a Product>,
    /// `context.User`.
    pub user: Option<&'a User>,
}

/// Where the key was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    Header,
    Query,
}

/// The key the request carries: the API's header first; the query parameter only when the
/// header is absent.
pub fn find_key(api: &Api, headers: &HeaderMap, url: &Url) -> Option<(String, KeySource)> {
    let names = &api.subscription_key_parameter_names;
    if let Some(v) = headers.get(&names.header) {
        return Some((v.join(","), KeySource::Header));
    }
    url.query()
        .get(&names.query)
        .map(|v| (v.join(","), KeySource::Query))
}

/// The realm of `WWW-Authenticate`: the gateway URL of the API.
pub fn realm(original_url: &Url, api: &Api) -> String {
    let path = api.path.trim_matches('/');
    if path.is_empty() {
        original_url.authority_prefix()
    } else {
        format!("{}/{}", original_url.authority_prefix(), path)
    }
}

/// The open product (no subscription required, published) that contains the API, if any.
pub fn open_product<'a>(service: &'a ServiceDefinition, api: &Api) -> Option<&'a Product> {
    service
        .products_of_api(&api.id)
        .find(|p| !p.subscription_required && p.state == ProductState::Published)
}

/// Whether `sub` may call `api` at `now`: active, within its dates, and scoped to the API, a
/// product containing it, or all APIs.
pub fn subscription_allows(
    service: &ServiceDefinition,
    sub: &Subscription,
    api: &Api,
    now: DateTime<Utc>,
) -> bool {
    if sub.state != SubscriptionState::Active {
        return false;
    }
    if sub.start_date.is_some_and(|s| now < s) || sub.end_date.is_some_and(|e| now >= e) {
        return false;
    }
    match &sub.scope {
        SubscriptionScope::AllApis => true,
        SubscriptionScope::Api(id) => *id == api.id,
        SubscriptionScope::Product(p) => {
            service.product(p).is_some_and(|p| p.apis.contains(&api.id))
        }
    }
}

fn keyless<'a>(service: &'a ServiceDefinition, api: &Api) -> Option<Caller<'a>> {
    if let Some(p) = open_product(service, api) {
        return Some(Caller {
            product: Some(p),
            ..Default::default()
        });
    }
    (!api.subscription_required).then(Caller::default)
}

/// Runs the decision table. `now` decides subscription start/end dates.
pub fn check_subscription<'a>(
    service: &'a ServiceDefinition,
    api: &'a Api,
    headers: &HeaderMap,
    original_url: &Url,
    now: DateTime<Utc>,
) -> Result<Caller<'a>, Box<PipelineError>> {
    let header_name = &api.subscription_key_parameter_names.header;
    // An API that does not require a subscription ignores any key.
    if !api.subscription_required {
        return Ok(keyless(service, api).unwrap_or_default());
    }
    let Some((key, _)) = find_key(api, headers, original_url) else {
        return keyless(service, api).ok_or_else(|| {
            Box::new(PipelineError::subscription_key_not_found(
                &realm(original_url, api),
                header_name,
            ))
        });
    };
    let found = service
        .subscriptions
        .iter()
        .find(|s| !key.is_empty() && (s.primary_key == key || s.secondary_key == key))
        .filter(|s| subscription_allows(service, s, api, now));
    match found {
        Some(sub) => {
            let product = match &sub.scope {
                SubscriptionScope::Product(p) => service.product(p),
                _ => None,
            };
            let user = sub.user_id.as_deref().and_then(|u| service.user(u));
            Ok(Caller {
                subscription: Some(sub),
                key: Some(key),
                product,
                user,
            })
        }
        None => keyless(service, api).ok_or_else(|| {
            Box::new(PipelineError::subscription_key_invalid(
                &realm(original_url, api),
                header_name,
            ))
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service() -> ServiceDefinition {
        let api = |id: &str, path: &str| Api {
            id: id.into(),
            path: path.into(),
            ..Default::default()
        };
        ServiceDefinition {
            apis: vec![
                api("echo", "echo"),
                api("other", "other"),
                Api {
                    subscription_key_parameter_names:
                        crate::service::SubscriptionKeyParameterNames {
                            header: "api-key".into(),
                            query: "api-key".into(),
                        },
                    ..api("aoai", "openai")
                },
                Api {
                    subscription_required: false,
                    ..api("public", "public")
                },
                api("open", "open"),
            ],
            products: vec![
                Product {
                    id: "starter".into(),
                    apis: vec!["echo".into(), "aoai".into()],
                    ..Default::default()
                },
                Product {
                    id: "free".into(),
                    subscription_required: false,
                    apis: vec!["open".into()],
                    ..Default::default()
                },
            ],
            users: vec![User {
                id: "u1".into(),
                email: "a@b.c".into(),
                ..Default::default()
            }],
            subscriptions: vec![
                Subscription {
                    id: "s-product".into(),
                    primary_key: "pk".into(),
                    secondary_key: "sk".into(),
                    scope: SubscriptionScope::Product("starter".into()),
                    user_id: Some("u1".into()),
                    ..Default::default()
                },
                Subscription {
                    id: "s-api".into(),
                    primary_key: "api-key-1".into(),
                    scope: SubscriptionScope::Api("other".into()),
                    ..Default::default()
                },
                Subscription {
                    id: "s-all".into(),
                    primary_key: "all".into(),
                    scope: SubscriptionScope::AllApis,
                    ..Default::default()
                },
                Subscription {
                    id: "s-suspended".into(),
                    primary_key: "sus".into(),
                    state: SubscriptionState::Suspended,
                    ..Default::default()
                },
                Subscription {
                    id: "s-ended".into(),
                    primary_key: "old".into(),
                    end_date: Some(
                        DateTime::parse_from_rfc3339("2020-01-01T00:00:00Z")
                            .unwrap()
                            .to_utc(),
                    ),
                    ..Default::default()
                },
            ],
            ..Default::default()
        }
    }

    fn check<'a>(
        s: &'a ServiceDefinition,
        api: &str,
        header: Option<(&str, &str)>,
        url: &str,
    ) -> Result<Caller<'a>, Box<PipelineError>> {
        let mut h = HeaderMap::new();
        if let Some((n, v)) = header {
            h.set_one(n, v).unwrap();
        }
        let now = DateTime::parse_from_rfc3339("2024-06-01T00:00:00Z")
            .unwrap()
            .to_utc();
        check_subscription(s, s.api(api).unwrap(), &h, &Url::parse(url).unwrap(), now)
    }

    #[test]
    fn product_key_gives_product_context_and_user() {
        let s = service();
        let c = check(
            &s,
            "echo",
            Some(("Ocp-Apim-Subscription-Key", "sk")),
            "https://gw/echo/x",
        )
        .unwrap();
        assert_eq!(c.subscription.unwrap().id, "s-product");
        assert_eq!(c.key.as_deref(), Some("sk"));
        assert_eq!(c.product.unwrap().id, "starter");
        assert_eq!(c.user.unwrap().email, "a@b.c");
    }

    #[test]
    fn api_and_all_apis_keys_skip_product_scope() {
        let s = service();
        let c = check(
            &s,
            "other",
            None,
            "https://gw/other/x?subscription-key=api-key-1",
        )
        .unwrap();
        assert_eq!(c.subscription.unwrap().id, "s-api");
        assert!(c.product.is_none());
        let all = check(
            &s,
            "echo",
            Some(("ocp-apim-subscription-key", "all")),
            "https://gw/echo",
        )
        .unwrap();
        assert_eq!(all.subscription.unwrap().id, "s-all");
        assert!(all.product.is_none());
    }

    #[test]
    fn header_wins_over_query_even_when_invalid() {
        let s = service();
        let e = check(
            &s,
            "echo",
            Some(("Ocp-Apim-Subscription-Key", "wrong")),
            "https://gw/echo?subscription-key=pk",
        )
        .unwrap_err();
        assert_eq!(e.last_error.reason, "SubscriptionKeyInvalid");
        assert_eq!(e.response.status, 401);
    }

    #[test]
    fn missing_and_invalid_keys_are_401_with_the_api_header_name() {
        let s = service();
        let e = check(
            &s,
            "aoai",
            None,
            "https://gw.example.net/openai/deployments",
        )
        .unwrap_err();
        assert_eq!(e.last_error.reason, "SubscriptionKeyNotFound");
        assert_eq!(
            e.response.headers.first("WWW-Authenticate"),
            Some(
                "AzureApiManagementKey realm=\"https://gw.example.net/openai\",name=\"api-key\",type=\"header\""
            )
        );
        // Key for another API, suspended and ended subscriptions are invalid.
        for key in ["api-key-1", "sus", "old", ""] {
            let e = check(
                &s,
                "echo",
                Some(("Ocp-Apim-Subscription-Key", key)),
                "https://gw/echo",
            )
            .unwrap_err();
            assert_eq!(e.last_error.reason, "SubscriptionKeyInvalid", "{key}");
        }
        // The query parameter name is the API's.
        assert!(check(&s, "aoai", None, "https://gw/openai?api-key=pk").is_ok());
    }

    #[test]
    fn open_products_and_apis_without_subscription() {
        let s = service();
        let c = check(&s, "open", None, "https://gw/open").unwrap();
        assert_eq!(c.product.unwrap().id, "free");
        assert!(c.subscription.is_none());
        // Invalid key on an API in an open product: key ignored.
        let c = check(
            &s,
            "open",
            Some(("Ocp-Apim-Subscription-Key", "bogus")),
            "https://gw/open",
        )
        .unwrap();
        assert_eq!(c.product.unwrap().id, "free");
        // API not requiring a subscription ignores even a valid key.
        let c = check(
            &s,
            "public",
            Some(("Ocp-Apim-Subscription-Key", "all")),
            "https://gw/public",
        )
        .unwrap();
        assert!(c.subscription.is_none() && c.product.is_none());
    }
}
