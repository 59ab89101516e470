//! Named counters of an application, declared once: the struct, its names
//! in order and the list the worker reports are all generated from one
//! declaration, so that no name is typed twice.

/// Declares a struct of `u64` counters with `NAMES` (in declaration order)
/// and `fields()` (each with its name), for reports, JSON and Prometheus.
macro_rules! counters {
    ($(#[$meta:meta])* $vis:vis struct $name:ident { $($(#[$doc:meta])* $field:ident,)* }) => {
        $(#[$meta])*
        #[derive(Clone, Debug, Default, PartialEq, Eq)]
        $vis struct $name {
            $($(#[$doc])* pub $field: u64,)*
        }

        impl $name {
            /// Every counter's name, in declaration order.
            pub const NAMES: &'static [&'static str] = &[$(stringify!($field)),*];

            /// The counters back from their names, e.g. out of a summary
            /// of several workers: a field read by name, not a string typed
            /// again, so a misspelt name cannot read 0.
            pub fn read(get: impl Fn(&str) -> u64) -> Self {
                $name { $($field: get(stringify!($field)),)* }
            }

            /// Every counter with its name, in declaration order.
            pub fn fields(&self) -> Vec<(&'static str, u64)> {
                vec![$((stringify!($field), self.$field)),*]
            }
        }
    };
}

pub(crate) use counters;

#[cfg(test)]
mod tests {
    counters! {
        /// Two counts.
        struct Two {
            /// The first.
            a,
            b,
        }
    }

    #[test]
    fn names_and_fields_follow_the_declaration() {
        let t = Two { a: 1, b: 2 };
        assert_eq!(Two::NAMES, &["a", "b"]);
        assert_eq!(t.fields(), vec![("a", 1), ("b", 2)]);
        let fields = t.fields();
        let get = |k: &str| fields.iter().find(|f| f.0 == k).map_or(0, |f| f.1);
        assert_eq!(Two::read(get), t);
    }
}
