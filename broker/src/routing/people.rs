//! Everyone online or in a grace time, by id and by agency, with what dispatch, estimates and
//! queue views read kept up to date as people change: who is free, longest idle first; how
//! many people can take each kind of visit; how many are available or busy.
//!
//! On a busy day every event changes somebody, and walking an agency's 500 officers for each
//! announcement or dispatch was most of what an event cost. So every change to a person
//! goes through [`People::get_mut`], whose guard books the difference in their pool when it
//! is dropped; the property tests check the pools against ones built afresh.

use super::estimate::QueueLoad;
use super::{Millis, QueueKey, Staff, StaffProfile};
use nara_protocol::desk::StaffStatus;
use nara_protocol::{AgencyId, LanguageCode, StaffId, Topic};
use rustc_hash::FxHashMap;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::{Deref, DerefMut, Index};
use std::sync::Arc;

/// Everyone the router knows, and their pools: one per agency, and the interpreters'.
#[derive(Debug, Clone, Default)]
pub struct People {
    /// Hashed with Fx, not SipHash: the ids are the broker's own, and these lookups are the
    /// core's hottest path.
    by_id: FxHashMap<StaffId, Staff>,
    /// Only agencies with someone in them.
    agencies: BTreeMap<AgencyId, Pool>,
    interpreters: Pool,
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
    /// Online, away or not: back from a break before long, as the low end of an estimate
    /// assumes.
    present: bool,
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
        present: false,
        free_since: None,
        view: View::Uncounted,
    };

    fn of(staff: &Staff) -> Standing {
        Standing {
            counts_towards_estimates: staff.online && staff.status != StaffStatus::Away,
            present: staff.online,
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
        let pool = match staff.profile.agency() {
            Some(agency) => self.agencies.get_mut(agency).expect("in their pool"),
            None => &mut self.interpreters,
        };
        let before = Standing::of(staff);
        Some(StaffMut {
            #[cfg(debug_assertions)]
            profile: staff.profile.clone(),
            staff,
            pool,
            before,
        })
    }

    /// Adds `staff`, or replaces whoever was here under their id.
    pub fn insert(&mut self, staff: Staff) {
        let id = staff.profile.id.clone();
        self.remove(&id);
        let pool = match staff.profile.agency() {
            Some(agency) => self.agencies.entry(agency.clone()).or_default(),
            None => &mut self.interpreters,
        };
        Arc::make_mut(&mut pool.members).insert(id.clone());
        pool.book(&staff, Standing::NONE, Standing::of(&staff));
        self.by_id.insert(id, staff);
    }

    pub fn remove(&mut self, id: &StaffId) -> Option<Staff> {
        let staff = self.by_id.remove(id)?;
        let pool = match staff.profile.agency() {
            Some(agency) => self.agencies.get_mut(agency).expect("in their pool"),
            None => &mut self.interpreters,
        };
        pool.book(&staff, Standing::of(&staff), Standing::NONE);
        Arc::make_mut(&mut pool.members).remove(id);
        if let (true, Some(agency)) = (pool.members.is_empty(), staff.profile.agency()) {
            self.agencies.remove(agency);
        }
        Some(staff)
    }

    /// Gives `id` a new profile (languages, skills, even agency), counted as such from now.
    pub fn set_profile(&mut self, id: &StaffId, profile: StaffProfile) {
        debug_assert_eq!(id, &profile.id, "a profile keeps its person's id");
        if let Some(mut staff) = self.remove(id) {
            staff.profile = profile;
            self.insert(staff);
        }
    }

    /// The pool of `agency` if anyone is in it, or (`None`) the interpreters'.
    pub fn pool(&self, agency: Option<&AgencyId>) -> Option<&Pool> {
        match agency {
            Some(agency) => self.agencies.get(agency),
            None => Some(&self.interpreters),
        }
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
            let agencies = people.agencies.iter();
            let agencies = agencies.map(|(agency, pool)| (Some(agency.clone()), pool.canonical()));
            agencies
                .chain([(None, people.interpreters.canonical())])
                .collect::<Vec<_>>()
        };
        canonical(&afresh) == canonical(self) && self.counts_hold()
    }

    /// Whether each pool's members, free people (in order) and available and busy counts are
    /// what a walk over everyone says.
    #[cfg(test)]
    fn counts_hold(&self) -> bool {
        let mut agencies: BTreeSet<Option<&AgencyId>> = BTreeSet::from([None]);
        agencies.extend(self.agencies.keys().map(Some));
        agencies.into_iter().all(|agency| {
            let pool = self.pool(agency).expect("listed");
            let everyone = self.by_id.values();
            let theirs: Vec<&Staff> = everyone.filter(|s| s.profile.agency() == agency).collect();
            let members: BTreeSet<StaffId> = theirs.iter().map(|s| s.profile.id.clone()).collect();
            let mut free: Vec<(Millis, &StaffId)> = theirs
                .iter()
                .filter(|s| s.can_be_offered())
                .map(|s| (s.idle_since, &s.profile.id))
                .collect();
            free.sort();
            let with = |status: StaffStatus| theirs.iter().filter(|s| s.status == status).count();
            let away = with(StaffStatus::Away);
            let available = with(StaffStatus::Available);
            let busy = theirs.len() - away - available;
            *pool.members == members
                && pool.free.iter().map(|(t, id)| (*t, id)).eq(free)
                && pool.available_and_busy() == (available as u32, busy as u32)
        })
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
#[derive(PartialEq, Eq)]
struct CanonicalPool {
    members: BTreeSet<StaffId>,
    free: BTreeSet<(Millis, StaffId)>,
    available_and_busy: (u32, u32),
    loads: BTreeMap<(LanguageCode, Option<Topic>), QueueLoad>,
    shared: BTreeMap<[(LanguageCode, Option<Topic>); 2], u32>,
}

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
                debug_assert!(*count > 0, "counted before");
                *count -= 1;
            }
            if let Some(count) = self.view_count(after.view) {
                *count += 1;
            }
        }
        let free_changed = before.free_since.is_some() != after.free_since.is_some();
        let present_changed = before.present != after.present;
        if before.counts_towards_estimates != after.counts_towards_estimates
            || free_changed
            || present_changed
        {
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
            .filter(|(_, load)| *load != QueueLoad::default())
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
        CanonicalPool {
            members: (*self.members).clone(),
            free: self.free.clone(),
            available_and_busy: (self.available, self.busy),
            loads,
            shared,
        }
    }
}

impl Abilities {
    fn find(&self, queue: &QueueKey) -> Option<usize> {
        self.index.get(&queue.language)?.get(&queue.topic).copied()
    }

    /// The indexes of the abilities `profile` gives, those new to this pool added to it.
    fn indexes_of(&mut self, profile: &StaffProfile) -> Vec<usize> {
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
        let abilities = self.indexes_of(profile);
        let able = (
            before.counts_towards_estimates,
            after.counts_towards_estimates,
        );
        let free = (before.free_since.is_some(), after.free_since.is_some());
        let present = (before.present, after.present);
        for a in &abilities {
            let load = &mut self.loads[*a];
            change_count(&mut load.able, able);
            change_count(&mut load.free, free);
            change_count(&mut load.present, present);
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

/// Counts one more or one fewer as someone gains or loses what is counted (`(before, after)`).
fn change_count(count: &mut u64, (before, after): (bool, bool)) {
    match (before, after) {
        (false, true) => *count += 1,
        (true, false) => {
            debug_assert!(*count > 0, "counted before");
            *count -= 1;
        }
        _ => {}
    }
}

/// A person being changed. When dropped, their pool counts them as they now are.
pub struct StaffMut<'a> {
    staff: &'a mut Staff,
    pool: &'a mut Pool,
    before: Standing,
    /// The profile as it was, to catch a change that should have gone through
    /// [`People::set_profile`]: the pool counts abilities by profile.
    #[cfg(debug_assertions)]
    profile: StaffProfile,
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
        #[cfg(debug_assertions)]
        debug_assert_eq!(
            self.profile, self.staff.profile,
            "profiles change by set_profile"
        );
        let after = Standing::of(self.staff);
        self.pool.book(self.staff, self.before, after);
    }
}
