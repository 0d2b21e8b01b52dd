//! Finding a declared resource's live object: under its own address, under the name it is
//! `renamed_from`, or — through the Descope id the state recorded — under whatever name it was
//! given outside dmgmt. Pure, like the rest of the planner.

use std::collections::HashMap;

use super::planner::{PlanError, PlanInput, name_of};
use crate::model::{LiveObject, ResourceAddr};

/// Where the live counterpart of a declared resource is.
pub(super) enum Located<'a> {
    /// Live under its own address. `followed`: the state entry, under another address, that
    /// managed it before it was renamed outside dmgmt to the name the configuration now uses.
    Here {
        object: &'a LiveObject,
        followed: Option<&'a ResourceAddr>,
    },
    /// Live under another name (`renamed_from`, or a rename made outside dmgmt that the state's
    /// Descope id reveals): renamed in place, which keeps user assignments.
    Elsewhere {
        at: &'a ResourceAddr,
        object: &'a LiveObject,
        outside: bool,
    },
    Missing,
}

/// The indexes that find live objects by Descope id, and state entries by the id they recorded.
pub(super) struct Ids<'a> {
    live: HashMap<&'a str, (&'a ResourceAddr, &'a LiveObject)>,
    pub(super) prior: HashMap<&'a str, &'a ResourceAddr>,
}

impl<'a> Ids<'a> {
    pub(super) fn new(input: &PlanInput<'a>) -> Self {
        Ids {
            live: input
                .snapshot
                .objects
                .iter()
                .filter_map(|(a, o)| Some((o.id.as_deref()?, (a, o))))
                .collect(),
            prior: input
                .prior
                .iter()
                .filter_map(|(a, p)| Some((p.id.as_deref()?, a)))
                .collect(),
        }
    }

    /// Where the object that the state entry `state_addr` manages is live now, when that is under
    /// another address (renamed outside dmgmt).
    pub(super) fn moved(
        &self,
        input: &PlanInput<'a>,
        state_addr: &ResourceAddr,
    ) -> Option<(&'a ResourceAddr, &'a LiveObject)> {
        let id = input.prior.get(state_addr)?.id.as_deref()?;
        let (at, object) = self.live.get(id).copied()?;
        (at != state_addr).then_some((at, object))
    }
}

/// Where the live object of the declared `addr` (renamed from `renamed_from`, if it says so) is.
/// `declared`: whether an address is declared (a declared object is never taken over under
/// another name).
pub(super) fn locate<'a>(
    addr: &ResourceAddr,
    renamed_from: Option<&ResourceAddr>,
    input: &PlanInput<'a>,
    declared: &dyn Fn(&ResourceAddr) -> bool,
    ids: &Ids<'a>,
) -> Result<Located<'a>, PlanError> {
    let live = &input.snapshot.objects;
    let free = |at: &ResourceAddr| !declared(at);
    if let Some(object) = live.get(addr) {
        if let Some(old) = renamed_from
            && live.contains_key(old)
            // Safe only when the rename was done before (the new name managed) and the old name
            // is a new object nobody manages.
            && (!input.prior.contains_key(addr) || input.prior.contains_key(old))
        {
            return Err(PlanError::UnsafeRename {
                addr: addr.clone(),
                from: old.clone(),
            });
        }
        if let Some((at, moved)) = ids.moved(input, addr).filter(|(at, _)| free(at)) {
            // The state's object (by its Descope id) is live under another name, and this is
            // another object that took its old name since.
            return Err(PlanError::NameHeld {
                addr: addr.clone(),
                id: moved.id.clone().unwrap_or_default(),
                now_named: name_of(at),
                other: object.id.clone().unwrap_or_default(),
                restore: false,
            });
        }
        let followed = object
            .id
            .as_deref()
            .and_then(|id| ids.prior.get(id).copied())
            .filter(|s| *s != addr && free(s) && !input.prior.contains_key(addr));
        return Ok(Located::Here { object, followed });
    }
    if let Some((at, object)) = ids.moved(input, addr).filter(|(at, _)| free(at)) {
        return Ok(Located::Elsewhere {
            at,
            object,
            outside: true,
        });
    }
    if let Some(old) = renamed_from.filter(|old| free(old)) {
        if let Some((at, object)) = live.get_key_value(old) {
            return Ok(Located::Elsewhere {
                at,
                object,
                outside: false,
            });
        }
        if let Some((at, object)) = ids.moved(input, old).filter(|(at, _)| free(at)) {
            return Ok(Located::Elsewhere {
                at,
                object,
                outside: true,
            });
        }
    }
    Ok(Located::Missing)
}

/// The message of [`PlanError::NameHeld`].
pub(super) fn describe_name_held(
    addr: &ResourceAddr,
    id: &str,
    now_named: &str,
    other: &str,
    restore: bool,
) -> String {
    let kind = addr.kind();
    let consequence = if restore {
        format!(
            "renaming it back would clash, and writing the backup over the other would leave `{id}` behind"
        )
    } else {
        "renaming it back would clash, and taking the other over would leave it and its users' assignments unmanaged".to_owned()
    };
    format!(
        "`{addr}` is the {kind} with Descope id `{id}`, now named `{now_named}`; another {kind} (id `{other}`) has taken the name `{}` since: {consequence}",
        name_of(addr)
    )
}

/// What to do about [`PlanError::NameHeld`].
pub(super) fn name_held_hints(
    addr: &ResourceAddr,
    id: &str,
    now_named: &str,
    other: &str,
    restore: bool,
) -> Vec<String> {
    let name = name_of(addr);
    let again = if restore {
        "run the restore again: it renames"
    } else {
        "plan again: dmgmt renames"
    };
    let mut hints = vec![format!(
        "to keep `{id}` (and its users' assignments) as `{name}`: rename or delete the other `{name}` (id `{other}`) in Descope, then {again} `{now_named}` back to `{name}`"
    )];
    if !restore {
        hints.push(format!(
            "to manage `{id}` under its new name: declare it as `{now_named}` instead of `{name}`"
        ));
        hints.push(format!(
            "to manage the other `{name}` (id `{other}`) instead: `dmgmt state rm {addr}`, then plan again; `{now_named}` is then left alone"
        ));
    }
    hints
}
