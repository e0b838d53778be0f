//! Library member signatures: what the checker accepts and which function runs.
use crate::code::NativeFn;
use crate::types::{Cls, Gen, Ty};

/// A parameter or return type pattern.
#[derive(Debug, Clone, Copy)]
pub enum P {
    Void,
    Bool,
    Char,
    I32,
    I64,
    U8,
    F64,
    F32,
    Dec,
    Str,
    Obj,
    C(Cls),
    Arr(&'static P),
    Nul(&'static P),
    IEnum(&'static P),
    ListOf(&'static P),
    Kvp(&'static P, &'static P),
    /// The receiver's generic argument.
    Recv(u8),
    /// The receiver's element type (LINQ).
    Elem,
    /// A method type argument (explicit or inferred).
    M(u8),
    Func(&'static [P], &'static P),
    /// `params T[]` as the last parameter.
    Params(&'static P),
    /// The receiver's own type.
    SelfTy,
    /// Any numeric type (the implementation converts).
    Num,
    /// An exact type given by a function of the receiver type (rare shapes).
    Dyn(fn(&Ty, &[Ty]) -> Ty),
}

/// Short names for the class types the member tables name most, so that each entry stays one line.
impl P {
    pub const DT: P = P::C(Cls::DateTime);
    pub const TS: P = P::C(Cls::TimeSpan);
    pub const DTO: P = P::C(Cls::DateTimeOffset);
    pub const JTOKEN: P = P::C(Cls::JToken);
    pub const CMP: P = P::C(Cls::StringComparison);
    pub const COMPARER: P = P::C(Cls::StringComparer);
    pub const XELEMENT: P = P::C(Cls::XElement);
    pub const XELEMENTS: P = P::IEnum(&P::XELEMENT);
    pub const ROUNDING: P = P::C(Cls::MidpointRounding);
    pub const SPLIT: P = P::C(Cls::StringSplitOptions);
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Method,
    Prop,
    Indexer,
    Ctor,
}

#[derive(Debug, Clone, Copy)]
pub struct Member {
    pub name: &'static str,
    pub kind: Kind,
    pub stat: bool,
    pub params: &'static [P],
    pub ret: P,
    pub targs: u8,
    pub f: NativeFn,
    /// Indexer setter (for `Kind::Indexer`), called with `[target, args..., value]`.
    pub set: Option<NativeFn>,
    /// Parameter names (for named arguments); empty when unnamed.
    pub names: &'static [&'static str],
    /// Index of `out` parameters (bit set).
    pub outs: u8,
}

impl Member {
    /// The one place a member is put together; the named constructors below only choose the kind.
    const fn base(
        name: &'static str,
        kind: Kind,
        stat: bool,
        params: &'static [P],
        ret: P,
        f: NativeFn,
    ) -> Member {
        Member {
            name,
            kind,
            stat,
            params,
            ret,
            targs: 0,
            f,
            set: None,
            names: &[],
            outs: 0,
        }
    }
    pub const fn method(name: &'static str, params: &'static [P], ret: P, f: NativeFn) -> Member {
        Member::base(name, Kind::Method, false, params, ret, f)
    }
    pub const fn stat(name: &'static str, params: &'static [P], ret: P, f: NativeFn) -> Member {
        Member::base(name, Kind::Method, true, params, ret, f)
    }
    pub const fn prop(name: &'static str, ret: P, f: NativeFn) -> Member {
        Member::base(name, Kind::Prop, false, &[], ret, f)
    }
    pub const fn sprop(name: &'static str, ret: P, f: NativeFn) -> Member {
        Member::base(name, Kind::Prop, true, &[], ret, f)
    }
    pub const fn ctor(params: &'static [P], f: NativeFn) -> Member {
        Member::base(".ctor", Kind::Ctor, true, params, P::SelfTy, f)
    }
    pub const fn indexer(
        params: &'static [P],
        ret: P,
        f: NativeFn,
        set: Option<NativeFn>,
    ) -> Member {
        let mut m = Member::base("this[]", Kind::Indexer, false, params, ret, f);
        m.set = set;
        m
    }
    pub const fn generic(mut self, n: u8) -> Member {
        self.targs = n;
        self
    }
    pub const fn named(mut self, names: &'static [&'static str]) -> Member {
        self.names = names;
        self
    }
    pub const fn out(mut self, index: u8) -> Member {
        self.outs |= 1 << index;
        self
    }
}

/// Substitution context for patterns.
pub struct Subst<'a> {
    pub recv: Option<&'a Ty>,
    pub margs: &'a [Option<Ty>],
}

impl P {
    /// The concrete type, or `None` when it depends on an unbound method type argument.
    pub fn resolve(&self, s: &Subst<'_>) -> Option<Ty> {
        Some(match self {
            P::Void => Ty::Void,
            P::Bool => Ty::Bool,
            P::Char => Ty::Char,
            P::I32 => Ty::I32,
            P::I64 => Ty::I64,
            P::U8 => Ty::U8,
            P::F64 => Ty::F64,
            P::F32 => Ty::F32,
            P::Dec => Ty::Decimal,
            P::Str => Ty::String,
            P::Obj => Ty::Object,
            P::Num => Ty::F64,
            P::C(c) => Ty::Named(*c),
            P::Arr(p) => Ty::array(p.resolve(s)?),
            P::Params(p) => Ty::array(p.resolve(s)?),
            P::Nul(p) => Ty::nullable(p.resolve(s)?),
            P::IEnum(p) => Ty::enumerable(p.resolve(s)?),
            P::ListOf(p) => Ty::list(p.resolve(s)?),
            P::Kvp(a, b) => Ty::generic(Gen::KeyValuePair, vec![a.resolve(s)?, b.resolve(s)?]),
            P::Recv(i) => match s.recv? {
                Ty::Gen(_, a) => a.get(*i as usize)?.clone(),
                Ty::Nullable(t) if *i == 0 => (**t).clone(),
                Ty::Array(t) if *i == 0 => (**t).clone(),
                _ => return None,
            },
            P::Elem => s.recv?.element()?,
            P::M(i) => s.margs.get(*i as usize)?.clone()?,
            P::Func(ps, r) => {
                let mut v = Vec::new();
                for p in ps.iter() {
                    v.push(p.resolve(s)?);
                }
                Ty::func(v, r.resolve(s)?)
            }
            P::SelfTy => s.recv?.clone(),
            P::Dyn(f) => f(
                s.recv?,
                &s.margs
                    .iter()
                    .map(|m| m.clone().unwrap_or(Ty::Error))
                    .collect::<Vec<_>>(),
            ),
        })
    }
}
