//! Visits and weekly compliance. Filled in by the field-work work.
