package model

import "time"

// ApiKey is an API key as the hub keeps it (never its hash).
type ApiKey struct {
	RowID      int        `db:"id"`
	PartnerID  int        `db:"partner_id"`
	Prefix     string     `db:"prefix"`
	Label      string     `db:"label"`
	CreatedAt  time.Time  `db:"created_at"`
	ExpiresAt  *time.Time `db:"expires_at"`
	RevokedAt  *time.Time `db:"revoked_at"`
	LastUsedAt *time.Time `db:"last_used_at"`
}

// IssuedApiKey is a new key with its secret, shown once.
type IssuedApiKey struct {
	Key    string
	ApiKey *ApiKey
}

// RequestLogEntry is one request in the audit log.
type RequestLogEntry struct {
	RowID         int64        `db:"id"`
	At            time.Time    `db:"at"`
	RequestID     string       `db:"request_id"`
	PartnerID     *int         `db:"partner_id"`
	KeyPrefix     *string      `db:"key_prefix"`
	OperationName *string      `db:"operation_name"`
	OperationHash *string      `db:"operation_hash"`
	Level         *AccessLevel `db:"level"`
	RootFields    *string      `db:"scope"`
	Rows          int          `db:"rows_returned"`
	Cells         int          `db:"cells_returned"`
	DurationMs    float64      `db:"duration_ms"`
	Outcome       string       `db:"outcome"`
}

// ChangeLogEntry is one change in the audit log: row Position of the log's
// entry RowID (an entry holds the rows one statement changed).
type ChangeLogEntry struct {
	RowID     int64        `db:"id"`
	Position  int          `db:"position"`
	At        time.Time    `db:"at"`
	RequestID *string      `db:"request_id"`
	PartnerID *int         `db:"partner_id"`
	Author    string       `db:"author"`
	Table     string       `db:"table_name"`
	RowKey    string       `db:"row_key"`
	Action    ChangeAction `db:"action"`
	Before    *string      `db:"before"`
	After     *string      `db:"after"`
}

// The audit log's connections.
type (
	RequestLogConnection = Connection[RequestLogEntry]
	RequestLogEdge       = Edge[RequestLogEntry]
	ChangeLogConnection  = Connection[ChangeLogEntry]
	ChangeLogEdge        = Edge[ChangeLogEntry]
)

func (e *ChangeAction) Scan(src any) error { return scanCode(e, src) }
