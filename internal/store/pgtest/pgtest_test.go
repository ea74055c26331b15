package pgtest

import (
	"context"
	"database/sql"
	"testing"
)

func TestStartServesOnLoopback(t *testing.T) {
	s := Start(t)
	u := s.CreateDB(t)
	db, err := sql.Open("pgx", u)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var addr, name string
	if err := db.QueryRowContext(context.Background(), `SELECT host(inet_server_addr()), current_database()`).Scan(&addr, &name); err != nil {
		t.Fatal(err)
	}
	if addr != "127.0.0.1" || name != Name(u) {
		t.Fatalf("server address %s, database %s; want 127.0.0.1, %s", addr, name, Name(u))
	}
}
