//! Everyone online or in a grace time, by id and by agency, with what dispatch, estimates and
//! queue views read kept up to date as people change: who is free, longest idle first; how
//! many people can take each kind of visit; how many are available or busy.
//!
//! On a busy day every event changes somebody, and walking an agency's 500 officers for each
//! announcement or dispatch was most of what an event cost. So every change to a person
//! goes through [`People::get_mut`], whose guard books the difference in their pool when it
//! is dropped; the property tests check the pools against ones built afresh.

use super::estimate::QueueLoad;
use super::{QueueKey, Staff, StaffProfile};
use nara_protocol::desk::StaffStatus;
use nara_protocol::{AgencyId, LanguageCode, StaffId, Topic};
use rustc_hash::FxHashMap;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::{Deref, DerefMut, Index};
use std::sync::Arc;

use super::Millis;

/// Everyone the router knows, and their pools (one per agency; `None`: the interpreters).
#[derive(Debug, Clone, Default)]
pub struct People {
    /// Hashed with Fx, not SipHash: the ids are the broker's own, and these lookups are the
    /// core's hottest path.
    by_id: FxHashMap<StaffId, Staff>,
    pools: BTreeMap<Option<AgencyId>, Pool>,
}

/// One agency's people, or the interpreters.
#[derive(Debug, Clone, Default)]
pub struct Pool {
    /// Shared with the messages sent to all of them, and copied only when someone comes or
    /// goes while such a message is on its way.
    members: Arc<BTreeSet<StaffId>>,
    /// Those who can be offered something now, longest idle first: the dispatch's order.
    free: BTreeSet<(Millis, StaffId)>,
    /// As the agency's queue view counts them: available, and busy (neither away nor
    /// available; in a grace time too).
    available: u32,
    busy: u32,
    abilities: Abilities,
}

/// What the people who count towards estimates (online, not away) can take.
#[derive(Debug, Clone, Default)]
struct Abilities {
    /// Language, then topic (`None`: a visit with no topic): the index of that ability.
    index: FxHashMap<LanguageCode, FxHashMap<Option<Topic>, usize>>,
    /// By ability: how many have it, and how many of those are free.
    loads: Vec<QueueLoad>,
    /// Two abilities (either order) that some people have both of, and how many: their
    /// queues compete for the same people.
    shared: FxHashMap<(usize, usize), u32>,
}

/// What a person adds to their pool's counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Standing {
    counts_towards_estimates: bool,
    /// When they became free, if they are.
    free_since: Option<Millis>,
    view: View,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum View {
    Available,
    Busy,
    /// Away, or not here at all: not counted.
    Uncounted,
}

impl Standing {
    /// What someone who is not here adds: nothing.
    const NONE: Standing = Standing {
        counts_towards_estimates: false,
        free_since: None,
        view: View::Uncounted,
    };

    fn of(staff: &Staff) -> Standing {
        Standing {
            counts_towards_estimates: staff.online && staff.status != StaffStatus::Away,
            free_since: staff.can_be_offered().then_some(staff.idle_since),
            view: match staff.status {
                StaffStatus::Available => View::Available,
                StaffStatus::Away => View::Uncounted,
                _ => View::Busy,
            },
        }
    }
}

impl People {
    pub fn get(&self, id: &StaffId) -> Option<&Staff> {
        self.by_id.get(id)
    }

    #[cfg(test)]
    pub fn values(&self) -> impl Iterator<Item = &Staff> {
        self.by_id.values()
    }

    /// `id`, to be changed; their pool is brought up to date when the guard is dropped.
    /// Their profile is not to be changed this way: see [`People::set_profile`].
    pub fn get_mut(&mut self, id: &StaffId) -> Option<StaffMut<'_>> {
        let staff = self.by_id.get_mut(id)?;
        let pool = self
            .pools
            .get_mut(&staff.profile.agency().cloned())
            .expect("everyone is in their agency's pool");
        let before = Standing::of(staff);
        Some(StaffMut {
            staff,
            pool,
            before,
        })
    }

    /// Adds `staff`, or replaces whoever was here under their id.
    pub fn insert(&mut self, staff: Staff) {
        let id = staff.profile.id.clone();
        self.remove(&id);
        let pool = self
            .pools
            .entry(staff.profile.agency().cloned())
            .or_default();
        Arc::make_mut(&mut pool.members).insert(id.clone());
        pool.book(&staff, Standing::NONE, Standing::of(&staff));
        self.by_id.insert(id, staff);
    }

    pub fn remove(&mut self, id: &StaffId) -> Option<Staff> {
        let staff = self.by_id.remove(id)?;
        let agency = staff.profile.agency().cloned();
        let pool = self.pools.get_mut(&agency).expect("in their pool");
        pool.book(&staff, Standing::of(&staff), Standing::NONE);
        Arc::make_mut(&mut pool.members).remove(id);
        if pool.members.is_empty() {
            self.pools.remove(&agency);
        }
        Some(staff)
    }

    /// Gives `id` a new profile (languages, skills, even agency), counted as such from now.
    pub fn set_profile(&mut self, id: &StaffId, profile: StaffProfile) {
        if let Some(mut staff) = self.remove(id) {
            staff.profile = profile;
            self.insert(staff);
        }
    }

    /// The pool of `agency` (`None`: the interpreters), if anyone is in it.
    pub fn pool(&self, agency: Option<&AgencyId>) -> Option<&Pool> {
        self.pools.get(&agency.cloned())
    }

    /// The pools as they would be if built afresh from everyone here, and as they are: for
    /// the property tests.
    #[cfg(test)]
    pub(crate) fn pools_hold(&self) -> bool {
        let mut afresh = People::default();
        for staff in self.by_id.values() {
            afresh.insert(staff.clone());
        }
        let canonical = |people: &People| {
            people
                .pools
                .iter()
                .map(|(agency, pool)| (agency.clone(), pool.canonical()))
                .collect::<Vec<_>>()
        };
        canonical(&afresh) == canonical(self)
    }
}

impl Index<&StaffId> for People {
    type Output = Staff;

    fn index(&self, id: &StaffId) -> &Staff {
        &self.by_id[id]
    }
}

/// Everything a pool counts, with abilities by name and without those nobody has.
#[cfg(test)]
type CanonicalPool = (
    BTreeSet<StaffId>,
    BTreeSet<(Millis, StaffId)>,
    (u32, u32),
    BTreeMap<(LanguageCode, Option<Topic>), (u64, u64)>,
    BTreeMap<[(LanguageCode, Option<Topic>); 2], u32>,
);

impl Pool {
    pub fn members(&self) -> &Arc<BTreeSet<StaffId>> {
        &self.members
    }

    /// Those who can be offered something now, longest idle first.
    pub fn free(&self) -> impl Iterator<Item = &StaffId> {
        self.free.iter().map(|(_, id)| id)
    }

    /// How many are available, and how many busy, as the queue view shows them.
    pub fn available_and_busy(&self) -> (u32, u32) {
        (self.available, self.busy)
    }

    /// How many who count towards estimates can take `queue`'s visits, and how many of
    /// them are free. `queue` is one of this pool's agency's: the agency is not looked at.
    pub(crate) fn load(&self, queue: &QueueKey) -> QueueLoad {
        self.abilities
            .find(queue)
            .map(|a| self.abilities.loads[a])
            .unwrap_or_default()
    }

    /// Whether someone who counts towards estimates can take the visits of both queues.
    pub(crate) fn shared(&self, a: &QueueKey, b: &QueueKey) -> bool {
        let (Some(a), Some(b)) = (self.abilities.find(a), self.abilities.find(b)) else {
            return a == b;
        };
        a == b || self.abilities.shared.contains_key(&(a.min(b), a.max(b)))
    }

    /// Books the change of one person of this pool from `before` to `after`.
    fn book(&mut self, staff: &Staff, before: Standing, after: Standing) {
        if before == after {
            return;
        }
        let id = &staff.profile.id;
        if before.free_since != after.free_since {
            if let Some(since) = before.free_since {
                self.free.remove(&(since, id.clone()));
            }
            if let Some(since) = after.free_since {
                self.free.insert((since, id.clone()));
            }
        }
        if before.view != after.view {
            if let Some(count) = self.view_count(before.view) {
                *count -= 1;
            }
            if let Some(count) = self.view_count(after.view) {
                *count += 1;
            }
        }
        let free_changed = before.free_since.is_some() != after.free_since.is_some();
        if before.counts_towards_estimates != after.counts_towards_estimates || free_changed {
            self.abilities.book(&staff.profile, before, after);
        }
    }

    fn view_count(&mut self, view: View) -> Option<&mut u32> {
        match view {
            View::Available => Some(&mut self.available),
            View::Busy => Some(&mut self.busy),
            View::Uncounted => None,
        }
    }

    #[cfg(test)]
    fn canonical(&self) -> CanonicalPool {
        let name = |index: usize| {
            self.abilities
                .index
                .iter()
                .flat_map(|(l, topics)| topics.iter().map(move |(t, i)| ((l, t), *i)))
                .find(|(_, i)| *i == index)
                .map(|((l, t), _)| (l.clone(), t.clone()))
                .expect("every index has a name")
        };
        let loads = (0..self.abilities.loads.len())
            .map(|i| (name(i), self.abilities.loads[i]))
            .filter(|(_, load)| load.able > 0)
            .map(|(n, load)| (n, (load.able, load.free)))
            .collect();
        let shared = self
            .abilities
            .shared
            .iter()
            .map(|((a, b), count)| {
                let mut pair = [name(*a), name(*b)];
                pair.sort();
                (pair, *count)
            })
            .collect();
        (
            (*self.members).clone(),
            self.free.clone(),
            (self.available, self.busy),
            loads,
            shared,
        )
    }
}

impl Abilities {
    fn find(&self, queue: &QueueKey) -> Option<usize> {
        self.index.get(&queue.language)?.get(&queue.topic).copied()
    }

    /// The abilities `profile` gives, made known to this pool.
    fn of(&mut self, profile: &StaffProfile) -> Vec<usize> {
        let mut abilities = Vec::new();
        for language in &profile.languages {
            let topics = self.index.entry(language.clone()).or_default();
            let any_topic = std::iter::once(None);
            for topic in any_topic.chain(profile.skills.iter().cloned().map(Some)) {
                let index = *topics.entry(topic).or_insert_with(|| {
                    self.loads.push(QueueLoad::default());
                    self.loads.len() - 1
                });
                abilities.push(index);
            }
        }
        abilities
    }

    fn book(&mut self, profile: &StaffProfile, before: Standing, after: Standing) {
        let abilities = self.of(profile);
        let able = |s: Standing| u64::from(s.counts_towards_estimates);
        let free = |s: Standing| u64::from(s.free_since.is_some());
        for a in &abilities {
            let load = &mut self.loads[*a];
            load.able = load.able + able(after) - able(before);
            load.free = load.free + free(after) - free(before);
        }
        if before.counts_towards_estimates == after.counts_towards_estimates {
            return;
        }
        for (n, a) in abilities.iter().enumerate() {
            for b in &abilities[n + 1..] {
                let pair = (*a.min(b), *a.max(b));
                if after.counts_towards_estimates {
                    *self.shared.entry(pair).or_default() += 1;
                } else if let Some(count) = self.shared.get_mut(&pair) {
                    *count -= 1;
                    if *count == 0 {
                        self.shared.remove(&pair);
                    }
                }
            }
        }
    }
}

/// A person being changed. When dropped, their pool counts them as they now are.
pub struct StaffMut<'a> {
    staff: &'a mut Staff,
    pool: &'a mut Pool,
    before: Standing,
}

impl Deref for StaffMut<'_> {
    type Target = Staff;

    fn deref(&self) -> &Staff {
        self.staff
    }
}

impl DerefMut for StaffMut<'_> {
    fn deref_mut(&mut self) -> &mut Staff {
        self.staff
    }
}

impl Drop for StaffMut<'_> {
    fn drop(&mut self) {
        let after = Standing::of(self.staff);
        self.pool.book(self.staff, self.before, after);
    }
}
