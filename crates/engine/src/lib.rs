//! The policy engine: the `context` object model, the `Plan` compiler (scopes, `<base/>`,
//! fragments, named values), policy implementations and the `Services` they run on.
