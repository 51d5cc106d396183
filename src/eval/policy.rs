//! Policy coverage (catalogue §1.1), shared by every policy-based check. (scaffold)
