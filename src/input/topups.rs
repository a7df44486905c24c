// TEMPORARY stub until the ledger reader lands.
use crate::domain::Purchase;
pub struct TopupRead {
    pub purchases: Vec<Purchase>,
    pub rejections: Vec<crate::input::Rejection>,
    pub files: Vec<crate::input::FileStats>,
}
pub fn read_topups(
    _paths: &[std::path::PathBuf],
    _sheet: Option<&str>,
    _tz: Option<chrono_tz::Tz>,
) -> Result<TopupRead, crate::input::InputError> {
    unimplemented!()
}
