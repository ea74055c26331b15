// Package freeport picks free loopback ports for servers that tests and
// demos start as separate processes (tor, PostgreSQL) and that must be told
// their port before they bind it.
//
// A port is free when it is picked, then released for the server to bind;
// anything on the host can take it in between. Port 0 would give ports from
// the kernel's ephemeral range, which is also where every outgoing
// connection on the host gets its local port, and a client that keeps
// retrying a stopped server can even connect to itself on the server's
// port. Ports picked below that range are only taken by a process that
// binds them by number, so a server stopped and restarted on its port (a
// warm restart, a simulated crash) finds it free.
package freeport
