//! What an administrator may act on. A national administrator (no region) acts everywhere; a
//! regional one only on the kiosks, sites, statistics and audit entries of their region, and
//! never on what is national: agencies, administrators, a site's region.

use super::auth::SessionStaff;
use super::ApiError;
use crate::state::AppState;
use crate::storage::{Role, SiteRow};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminScope {
    National,
    Region(String),
}

impl AdminScope {
    /// The scope of `staff`, who must be an administrator.
    pub fn of(staff: &SessionStaff) -> Result<AdminScope, ApiError> {
        staff.require_admin()?;
        Ok(match &staff.row.region {
            None => AdminScope::National,
            Some(region) => AdminScope::Region(region.clone()),
        })
    }

    pub fn covers(&self, region: &str) -> bool {
        match self {
            AdminScope::National => true,
            AdminScope::Region(own) => own == region,
        }
    }

    /// Refuses what lies outside the region, naming both.
    pub fn require(&self, region: &str, what: &str) -> Result<(), ApiError> {
        match self {
            AdminScope::Region(own) if own != region => Err(ApiError::Forbidden(format!(
                "you administer region {own}; {what} is in region {region}"
            ))),
            _ => Ok(()),
        }
    }

    /// Refuses a regional administrator what only a national one may do.
    pub fn require_national(&self, what: &str) -> Result<(), ApiError> {
        match self {
            AdminScope::National => Ok(()),
            AdminScope::Region(own) => Err(ApiError::Forbidden(format!(
                "only a national administrator may {what}; you administer region {own}"
            ))),
        }
    }

    /// The sites this scope covers.
    pub fn sites<'a>(&self, sites: &'a [SiteRow]) -> Vec<&'a SiteRow> {
        sites.iter().filter(|s| self.covers(&s.region)).collect()
    }

    /// Whether an administrator of this scope may see `person` in the staff list: officers
    /// and interpreters serve the whole country, administrators belong to a region or none.
    pub fn sees_staff(&self, role: Role, region: Option<&str>) -> bool {
        match (self, role) {
            (AdminScope::National, _) => true,
            (AdminScope::Region(own), Role::Admin) => region == Some(own.as_str()),
            (AdminScope::Region(_), _) => true,
        }
    }
}

/// The region of `kiosk`'s site, or 404 for no such kiosk.
pub async fn kiosk_region(state: &AppState, kiosk: &str) -> Result<String, ApiError> {
    let row = state
        .store
        .kiosk(kiosk)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no kiosk {kiosk}")))?;
    site_region(state, &row.site_id).await
}

/// The region of `site`, or 404 for no such site.
pub async fn site_region(state: &AppState, site: &str) -> Result<String, ApiError> {
    state
        .store
        .sites()
        .await?
        .into_iter()
        .find(|s| s.id == site)
        .map(|s| s.region)
        .ok_or_else(|| ApiError::NotFound(format!("no site {site:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_region_covers_itself_only() {
        let stockholm = AdminScope::Region("stockholm".into());
        assert!(stockholm.covers("stockholm"));
        assert!(!stockholm.covers("vasterbotten"));
        assert!(stockholm.require("vasterbotten", "kiosk k-1").is_err());
        assert!(stockholm
            .require_national("create an administrator")
            .is_err());
        assert!(AdminScope::National.covers("vasterbotten"));
        assert!(AdminScope::National.require_national("x").is_ok());
    }

    #[test]
    fn regional_admins_see_officers_but_only_their_own_regions_admins() {
        let stockholm = AdminScope::Region("stockholm".into());
        assert!(stockholm.sees_staff(Role::Officer, None));
        assert!(stockholm.sees_staff(Role::Admin, Some("stockholm")));
        assert!(!stockholm.sees_staff(Role::Admin, None));
        assert!(!stockholm.sees_staff(Role::Admin, Some("skane")));
    }
}
