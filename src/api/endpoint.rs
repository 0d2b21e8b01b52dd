//! A management API route: its HTTP method, its path and whether calling it changes Descope.
//!
//! Every endpoint the client calls is a constant in `calls::endpoints`; errors and the `-vv` log
//! name it by method and path.

use std::fmt;

/// The HTTP methods Descope's management API uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Method {
    Get,
    Post,
}

impl Method {
    pub(crate) const fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<Method> for reqwest::Method {
    fn from(method: Method) -> Self {
        match method {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
        }
    }
}

/// A management API route: method and path (no query), and whether calling it changes Descope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Endpoint {
    pub(crate) method: Method,
    pub path: &'static str,
    /// A call that changes the project. The client never resends one after a 5xx or a transport
    /// error: Descope may have applied it with only the reply lost, and a blind resend could
    /// duplicate it. Its caller (the executor) reads the object back and decides.
    pub mutating: bool,
}

impl Endpoint {
    pub(crate) const fn get(path: &'static str) -> Self {
        Endpoint {
            method: Method::Get,
            path,
            mutating: false,
        }
    }

    /// A POST that only reads (flow list, flow and theme export).
    pub(crate) const fn post(path: &'static str) -> Self {
        Endpoint {
            method: Method::Post,
            path,
            mutating: false,
        }
    }

    /// A POST that changes the project (see [`Endpoint::mutating`]).
    pub(crate) const fn mutation(path: &'static str) -> Self {
        Endpoint {
            method: Method::Post,
            path,
            mutating: true,
        }
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method, self.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endpoint_is_named_by_method_and_path() {
        assert_eq!(
            Endpoint::get("/v1/mgmt/license").to_string(),
            "GET /v1/mgmt/license"
        );
        assert_eq!(
            Endpoint::mutation("/v1/mgmt/tenant/create").to_string(),
            "POST /v1/mgmt/tenant/create"
        );
        assert_eq!(reqwest::Method::from(Method::Get), reqwest::Method::GET);
        assert_eq!(reqwest::Method::from(Method::Post), reqwest::Method::POST);
    }
}
