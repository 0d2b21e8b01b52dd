//! What makes a [`Plan`] one the executor can carry out as it stands: every dependency names a
//! change of the plan, the dependencies form no cycle, each change's action is one its kind of
//! resource has, and each change that sends a body carries it. The planners' plans hold by
//! construction (checked in debug builds); a saved plan is read from a file anyone can edit, so it
//! is checked on every read, before anything is called.

use std::collections::VecDeque;

use super::types::{Action, ChangeId, Plan};
use crate::model::{ResourceAddr, ResourceKind};

/// Why a plan cannot be carried out. Positions are the changes' ids (their places in the plan).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidPlan {
    #[error("change {change} (`{addr}`) depends on change {on}, which the plan does not have")]
    UnknownDependency {
        change: ChangeId,
        addr: ResourceAddr,
        on: ChangeId,
    },
    #[error("changes depend on each other in a cycle: {}", .0.iter().map(|(id, a)| format!("{id} (`{a}`)")).collect::<Vec<_>>().join(" -> "))]
    Cycle(Vec<(ChangeId, ResourceAddr)>),
    #[error("change {change} (`{addr}`): a {} has no action `{action}`", .addr.kind())]
    IllegalAction {
        change: ChangeId,
        addr: ResourceAddr,
        action: String,
    },
    #[error("change {change} (`{addr}`): the {action} has no body to send")]
    MissingBody {
        change: ChangeId,
        addr: ResourceAddr,
        action: String,
    },
}

impl Plan {
    /// Checks that the executor can carry the plan out as it stands (see the module's note).
    pub fn validate(&self) -> Result<(), InvalidPlan> {
        for (id, change) in self.iter() {
            let action = || change.action.name().to_owned();
            if !legal(change.kind(), &change.action) {
                return Err(InvalidPlan::IllegalAction {
                    change: id,
                    addr: change.addr.clone(),
                    action: action(),
                });
            }
            if needs_body(&change.action) && change.calls_api() && change.after.is_none() {
                return Err(InvalidPlan::MissingBody {
                    change: id,
                    addr: change.addr.clone(),
                    action: action(),
                });
            }
            if let Some(&on) = change
                .depends_on
                .iter()
                .find(|d| self.change(**d).is_none())
            {
                return Err(InvalidPlan::UnknownDependency {
                    change: id,
                    addr: change.addr.clone(),
                    on,
                });
            }
        }
        match self.cycle() {
            Some(cycle) => Err(InvalidPlan::Cycle(cycle)),
            None => Ok(()),
        }
    }

    /// The changes left over by a topological walk (Kahn's): those on a cycle or waiting for one,
    /// with one cycle among them named, in dependency order. Dependencies are all in range.
    fn cycle(&self) -> Option<Vec<(ChangeId, ResourceAddr)>> {
        let n = self.changes.len();
        let mut waiting: Vec<usize> = self.changes.iter().map(|c| c.depends_on.len()).collect();
        let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); n];
        for (id, change) in self.iter() {
            for d in &change.depends_on {
                dependents[d.index()].push(id.index());
            }
        }
        let mut ready: VecDeque<usize> = (0..n).filter(|&i| waiting[i] == 0).collect();
        let mut done = 0;
        while let Some(i) = ready.pop_front() {
            done += 1;
            for &j in &dependents[i] {
                waiting[j] -= 1;
                if waiting[j] == 0 {
                    ready.push_back(j);
                }
            }
        }
        if done == n {
            return None;
        }
        // Every change left waits for another one left: following first dependencies from any of
        // them must come back to a change already seen.
        let stuck = |i: usize| waiting[i] > 0;
        let start = (0..n).find(|&i| stuck(i))?;
        let mut path = vec![start];
        let mut at = start;
        loop {
            at = self.changes[at]
                .depends_on
                .iter()
                .map(|d| d.index())
                .find(|&d| stuck(d))?;
            if let Some(pos) = path.iter().position(|&p| p == at) {
                let mut cycle: Vec<usize> = path.split_off(pos);
                cycle.reverse();
                return Some(
                    cycle
                        .into_iter()
                        .map(|i| (ChangeId::new(i), self.changes[i].addr.clone()))
                        .collect(),
                );
            }
            path.push(at);
        }
    }
}

/// Whether a resource of `kind` has the action `action` (what the executor can send for it).
fn legal(kind: ResourceKind, action: &Action) -> bool {
    use ResourceKind as K;
    match action {
        Action::Create | Action::Update | Action::Adopt | Action::Forget => true,
        Action::Rename { .. } => matches!(kind, K::Permission | K::Role),
        Action::Delete => kind != K::Theme,
        Action::SetDefaultRoles | Action::SetSettings => kind == K::Tenant,
    }
}

/// Whether the action sends `after` (a delete names its object; a forget sends nothing).
fn needs_body(action: &Action) -> bool {
    !matches!(action, Action::Delete | Action::Forget)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::plan::Change;

    fn plan(changes: Vec<Change>) -> Plan {
        Plan {
            changes,
            drift: Vec::new(),
            unmanaged: Vec::new(),
            summary: Default::default(),
        }
    }

    fn create(addr: &str, depends_on: &[usize]) -> Change {
        Change {
            after: Some(json!({"name": "x"})),
            depends_on: ChangeId::list(depends_on),
            ..Change::bare(addr, Action::Create)
        }
    }

    #[test]
    fn a_plan_the_executor_can_carry_out_is_valid() {
        let p = plan(vec![
            create("permission.p", &[]),
            create("role.R", &[0]),
            create("tenant.t", &[1]),
            Change {
                after: Some(json!({"defaultRoles": ["R"]})),
                depends_on: ChangeId::list(&[1, 2]),
                ..Change::bare("tenant.t", Action::SetDefaultRoles)
            },
            Change::bare("flow.old", Action::Delete),
            Change::bare("theme", Action::Forget),
        ]);
        assert_eq!(p.validate(), Ok(()));
        assert_eq!(plan(Vec::new()).validate(), Ok(()));
    }

    #[test]
    fn a_change_is_found_by_its_id_and_an_id_out_of_range_finds_none() {
        let p = plan(vec![create("permission.p", &[])]);
        assert_eq!(
            p.change(ChangeId::new(0)).map(|c| c.addr.to_string()),
            Some("permission.p".to_owned())
        );
        assert_eq!(p.change(ChangeId::new(1)), None);
    }

    #[test]
    fn a_dependency_on_a_change_the_plan_does_not_have_is_refused() {
        let p = plan(vec![create("permission.p", &[]), create("role.R", &[7])]);
        assert_eq!(
            p.validate(),
            Err(InvalidPlan::UnknownDependency {
                change: ChangeId::new(1),
                addr: "role.R".parse().unwrap(),
                on: ChangeId::new(7),
            })
        );
    }

    #[test]
    fn a_cycle_is_refused_and_named() {
        let p = plan(vec![
            create("permission.a", &[]),
            create("permission.b", &[0, 3]),
            create("permission.c", &[1]),
            create("permission.d", &[2]),
            create("permission.e", &[3]),
        ]);
        let Err(InvalidPlan::Cycle(cycle)) = p.validate() else {
            panic!("{:?}", p.validate());
        };
        let ids: Vec<usize> = cycle.iter().map(|(id, _)| id.index()).collect();
        assert_eq!(
            ids,
            [2, 3, 1],
            "the cycle alone, each change before the one that needs it"
        );
        let own = plan(vec![create("permission.a", &[0])]);
        assert!(matches!(own.validate(), Err(InvalidPlan::Cycle(c)) if c.len() == 1));
    }

    #[test]
    fn an_action_the_kind_does_not_have_is_refused() {
        for (addr, action) in [
            ("tenant.t", Action::Rename { from: "old".into() }),
            ("flow.f", Action::Rename { from: "old".into() }),
            ("role.R", Action::SetDefaultRoles),
            ("permission.p", Action::SetSettings),
            ("theme", Action::Delete),
        ] {
            let p = plan(vec![Change {
                after: Some(json!({})),
                ..Change::bare(addr, action.clone())
            }]);
            assert!(
                matches!(p.validate(), Err(InvalidPlan::IllegalAction { .. })),
                "{addr} {action:?}: {:?}",
                p.validate()
            );
        }
    }

    #[test]
    fn a_change_that_sends_a_body_without_one_is_refused() {
        let p = plan(vec![Change::bare("role.R", Action::Create)]);
        assert!(matches!(
            p.validate(),
            Err(InvalidPlan::MissingBody { change, .. }) if change == ChangeId::new(0)
        ));
        let adopt_without_call = plan(vec![Change::bare("role.R", Action::Adopt)]);
        assert_eq!(adopt_without_call.validate(), Ok(()), "it sends nothing");
    }
}
