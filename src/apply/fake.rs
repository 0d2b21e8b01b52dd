//! An in-memory Descope for the executor's tests: tenants, roles, permissions, flows and the
//! theme, Descope's rules where the executor relies on them (unique names, replacing updates,
//! atomic batches, 404 for missing objects), a log of every call with its body, and faults on
//! demand: refuse a call without applying it, apply it and lose the reply (502), or lose the reply
//! and apply it only later (a write a read-back right after does not see yet). The calls
//! themselves are in `fake_provider.rs`.

use std::sync::{Mutex, MutexGuard};

use serde::Serialize;
use serde_json::{Value, json};

use super::fake_data::{Data, error, str_of};

use crate::api::{ApiError, Endpoint};

/// What a rule does to the call it matches.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Fault {
    /// Answers this error and applies nothing.
    Refuse { status: u16, code: &'static str },
    /// Applies the call, then answers 502: the reply is lost.
    Lost,
    /// Answers 502 and applies the call only when the next mutation arrives.
    LostLate,
}

struct Rule {
    /// `None`: any mutation.
    op: Option<&'static str>,
    /// Only calls whose body holds this string value.
    key: Option<String>,
    fault: Fault,
    times: usize,
}

type Late = Box<dyn FnOnce(&mut Data) + Send>;

struct Inner {
    data: Data,
    rules: Vec<Rule>,
    duplicate_status: u16,
    log: Vec<(String, Value)>,
    late: Vec<Late>,
}

pub(crate) struct Fake {
    inner: Mutex<Inner>,
}

impl Fake {
    pub(crate) fn new() -> Fake {
        Fake {
            inner: Mutex::new(Inner {
                data: Data {
                    theme: json!({"id": "theme", "cssTemplate": {}}),
                    ..Data::default()
                },
                rules: Vec::new(),
                duplicate_status: 409,
                log: Vec::new(),
                late: Vec::new(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Applies `fault` to the next `times` calls of `op` (`None`: any mutation) whose body holds
    /// the string `key`.
    pub(crate) fn fault(
        &self,
        op: Option<&'static str>,
        key: Option<&str>,
        fault: Fault,
        times: usize,
    ) {
        self.lock().rules.push(Rule {
            op,
            key: key.map(str::to_owned),
            fault,
            times,
        });
    }

    /// The status of an "already exists" answer (Descope's is undocumented: 409 or 400).
    pub(crate) fn duplicate_status(&self, status: u16) {
        self.lock().duplicate_status = status;
    }

    /// How many calls of `op` were made.
    pub(crate) fn calls(&self, op: &str) -> usize {
        self.lock().log.iter().filter(|(o, _)| o == op).count()
    }

    /// The bodies of the calls of `op`.
    pub(crate) fn requests(&self, op: &str) -> Vec<Value> {
        self.lock()
            .log
            .iter()
            .filter(|(o, _)| o == op)
            .map(|(_, b)| b.clone())
            .collect()
    }

    pub(crate) fn permissions(&self) -> Vec<Value> {
        self.lock().data.permissions.clone()
    }

    pub(crate) fn roles(&self) -> Vec<Value> {
        self.lock().data.roles.clone()
    }

    pub(crate) fn tenant(&self, id: &str) -> Option<Value> {
        self.lock().data.tenants.get(id).cloned()
    }

    pub(crate) fn flow(&self, id: &str) -> Option<Value> {
        self.lock().data.flows.get(id).cloned()
    }

    /// Stores a live object as it is (seeding the project before a test).
    pub(crate) fn seed(&self, kind: &str, body: Value) {
        let mut inner = self.lock();
        let data = &mut inner.data;
        match kind {
            "permission" => data.permissions.push(body),
            "role" => data.roles.push(body),
            "tenant" => {
                data.tenants.insert(str_of(&body, "id").to_owned(), body);
            }
            "flow" => {
                let id = str_of(&body["flow"], "id").to_owned();
                data.flows.insert(id, body);
            }
            _ => panic!("unknown kind {kind}"),
        }
    }

    pub(super) fn read<R>(
        &self,
        op: &str,
        f: impl FnOnce(&Data) -> Result<R, ApiError>,
    ) -> Result<R, ApiError> {
        let mut inner = self.lock();
        inner.log.push((op.to_owned(), Value::Null));
        // A read fails only by a rule naming it (a rule for any call is for mutations).
        let rule = inner
            .rules
            .iter_mut()
            .find(|r| r.times > 0 && r.op == Some(op) && r.key.is_none());
        if let Some(rule) = rule
            && let Fault::Refuse { status, code } = rule.fault
        {
            rule.times -= 1;
            return Err(error(
                Endpoint::get("/fake/read"),
                status,
                code,
                "refused by the test",
            ));
        }
        f(&inner.data)
    }

    /// Runs a mutation through the fault rules. `apply` must change nothing when it fails.
    pub(super) fn mutate<R: Send + 'static>(
        &self,
        op: &'static str,
        endpoint: Endpoint,
        body: &impl Serialize,
        apply: impl FnOnce(&mut Data, u16) -> Result<R, ApiError> + Send + 'static,
    ) -> Result<R, ApiError> {
        let mut inner = self.lock();
        for late in std::mem::take(&mut inner.late) {
            late(&mut inner.data);
        }
        let body = json!(body);
        let text = body.to_string();
        inner.log.push((op.to_owned(), body));
        let dup = inner.duplicate_status;
        let rule = inner.rules.iter_mut().find(|r| {
            r.times > 0
                && r.op.is_none_or(|o| o == op)
                && r.key
                    .as_ref()
                    .is_none_or(|k| text.contains(&format!("\"{k}\"")))
        });
        let fault = rule.map(|r| {
            r.times -= 1;
            r.fault
        });
        let lost = || error(endpoint, 502, "E011502", "bad gateway");
        match fault {
            None => apply(&mut inner.data, dup),
            Some(Fault::Refuse { status, code }) => {
                Err(error(endpoint, status, code, "refused by the test"))
            }
            Some(Fault::Lost) => apply(&mut inner.data, dup).and_then(|_| Err(lost())),
            Some(Fault::LostLate) => {
                inner
                    .late
                    .push(Box::new(move |data| drop(apply(data, dup))));
                Err(lost())
            }
        }
    }
}
