//! The tables as diesel sees them; must match `adapters/migrations` (SQLite)
//! and `adapters/migrations-postgres` (Postgres): both ledgers share them.

diesel::table! {
    apps (name) {
        name -> Text,
        token_hash -> Text,
        created_at -> BigInt,
        revoked_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    sessions (id) {
        id -> Text,
        app -> Text,
        agent -> Text,
        meta -> Text,
        created_at -> BigInt,
        last_turn_at -> Nullable<BigInt>,
        closed_at -> Nullable<BigInt>,
        close_reason -> Nullable<Text>,
        turn_count -> BigInt,
        owner_node -> Nullable<Text>,
    }
}

diesel::table! {
    turns (session_id, turn_index) {
        session_id -> Text,
        turn_index -> BigInt,
        prompt -> Text,
        files -> Text,
        stop_reason -> Text,
        text -> Text,
        events -> Text,
        started_at -> BigInt,
        duration_ms -> BigInt,
        cost_usd -> Nullable<Double>,
        input_tokens -> Nullable<BigInt>,
        output_tokens -> Nullable<BigInt>,
    }
}

diesel::table! {
    session_events (id) {
        id -> BigInt,
        session_id -> Text,
        event -> Text,
        at -> BigInt,
        detail -> Text,
    }
}

diesel::table! {
    runs (id) {
        id -> BigInt,
        app -> Text,
        model -> Nullable<Text>,
        ok -> Bool,
        stop_reason -> Nullable<Text>,
        duration_ms -> BigInt,
        error -> Nullable<Text>,
        cost_usd -> Nullable<Double>,
        at -> BigInt,
        input_tokens -> Nullable<BigInt>,
        output_tokens -> Nullable<BigInt>,
    }
}

diesel::joinable!(turns -> sessions (session_id));
diesel::joinable!(session_events -> sessions (session_id));
diesel::allow_tables_to_appear_in_same_query!(apps, sessions, turns, session_events, runs, open_session_counts, nodes);

diesel::define_sql_function! {
    /// SQL `coalesce`, as the idle index is built on it.
    fn coalesce(x: diesel::sql_types::Nullable<diesel::sql_types::BigInt>, y: diesel::sql_types::BigInt) -> diesel::sql_types::BigInt;
}

diesel::table! {
    /// Kept by triggers (see the `open_session_counts` migration); read-only here.
    open_session_counts (app) {
        app -> Text,
        n -> BigInt,
    }
}

diesel::table! {
    session_feed (session_id, seq) {
        session_id -> Text,
        seq -> BigInt,
        kind -> Text,
        turn_index -> Nullable<BigInt>,
        at -> BigInt,
        data -> Text,
    }
}

diesel::table! {
    /// One row per gateway sharing the ledger (see the `ownership` migration).
    nodes (node_id) {
        node_id -> Text,
        advertise_url -> Text,
        heartbeat_at -> BigInt,
    }
}
