//! Cases (problems) and their workflow. Filled in by the cases work.
