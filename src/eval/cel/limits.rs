//! Every limit lzaudit puts on a CEL rule, in one place.
//!
//! A rule comes from a check file that a user may have written, so neither loading it nor
//! running it may take the process down. The numbers are measured against the built-in checks
//! (`limits_leave_headroom_over_the_built_in_checks` in `tests/it/cel_limits.rs` keeps them
//! honest): the largest built-in rule is 291 bytes, nests brackets 4 deep and parses to a tree 11
//! levels deep, so each limit leaves at least five times that.

/// Longest rule source, in bytes. Checked before anything parses the rule.
pub const MAX_EXPR_BYTES: usize = 4096;

/// Deepest nesting of brackets (`(`, `[`, `{`) and conditionals (`?`) in a rule's source.
/// Checked by a flat scan before parsing, because the CEL parser recurses once per level and
/// its frames are large (about 250 KiB per bracket level in a debug build).
pub const MAX_NESTING: usize = 32;

/// Deepest parsed expression tree. The evaluator recurses once per level; a chain such as
/// `a + b + c + …` is one level per operator, which the byte limit alone does not bound.
pub const MAX_AST_DEPTH: usize = 64;

/// Most segments in a declared read's path (`properties.agentPoolProfiles[].vmSize` has three).
/// Projecting a read into `resource` recurses once per segment, whatever the payload holds, so
/// without a bound a 250 KB path overflows the evaluation thread's stack. The longest built-in
/// path has six.
pub const MAX_READ_SEGMENTS: usize = 32;

/// Largest compiled program of a literal regular expression (`matches('…')`), in bytes, as
/// the `regex` crate counts it. The CEL runtime compiles the pattern on every call, so its
/// size is part of each call's cost.
pub const MAX_REGEX_BYTES: usize = 1 << 20;

/// Stack of the threads that parse and evaluate rules. The limits above keep the deepest
/// rule well inside it (a 32-deep bracket nest needs about 8 MiB in a debug build); the
/// memory is reserved, and only touched as deep as a rule actually goes.
pub const STACK_BYTES: usize = 64 << 20;

/// Memory one rule's values may hold at once, in units of one value or one byte of a string
/// (a value takes up to about 50 bytes, so about 1 GiB at most). The built-in rules hold at
/// most 0.9 million on a cluster with 100 node pools.
pub const MEMORY_BUDGET: u64 = 20_000_000;

/// Budget of one finding, in cost units (see `cost`): the sum of the worst-case costs of the
/// rules evaluated for one resource. A unit is about one value or byte touched, and takes
/// 30–50 ns in a release build; a regular expression costs its compiled size on every call,
/// because the runtime compiles it on every call. The costliest built-in check (AKS-029, whose
/// rules nest a regular expression per taint inside loops over the node pools) may cost
/// 57 million units on a cluster with 100 pools (the AKS maximum) of 10 taints each.
pub const FINDING_BUDGET: u64 = 1_000_000_000;

/// Budget of one check over a whole run: once the rules evaluated so far may have used it,
/// the check's remaining resources are `unknown` without being evaluated. A built-in check
/// costs at most 151 000 units on a resource the size of its test fixtures, so this covers
/// 100 000 such resources, and caps a runaway check at 10 to 17 minutes in a release build.
pub const RUN_BUDGET: u64 = 20_000_000_000;
