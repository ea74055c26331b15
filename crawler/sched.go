package crawler

import (
	"context"
	"sync"
	"time"
)

// sched hands queued assets to download workers so that no host holds
// more than its share of them: a worker never waits for a busy host while
// another host has work, so one slow site cannot starve the others.
type sched struct {
	mu    sync.Mutex
	cond  *sync.Cond
	hosts map[string]*hostQueue
	// ring lists hosts with queued assets, served round robin from next.
	ring    []string
	next    int
	pending int
	// max bounds each host's queued assets (a push for that host waits
	// beyond it; other hosts' pushes do not), share its downloads.
	max, share int
	closed     bool
	stopped    bool
}

type hostQueue struct {
	q      []Asset
	active int
}

func newSched(ctx context.Context, max, share int) *sched {
	s := &sched{hosts: map[string]*hostQueue{}, max: max, share: share}
	s.cond = sync.NewCond(&s.mu)
	context.AfterFunc(ctx, func() {
		s.mu.Lock()
		s.stopped = true
		s.mu.Unlock()
		s.cond.Broadcast()
	})
	return s
}

// push queues a for host, waiting while that host's queue is full; false
// if the run was stopped. The bound is per host: a site whose downloads
// crawl must not fill a queue every other site's assets wait on.
func (s *sched) push(a Asset, host string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for !s.stopped {
		if h := s.hosts[host]; h == nil || len(h.q) < s.max {
			break
		}
		s.cond.Wait()
	}
	if s.stopped {
		return false
	}
	h := s.hosts[host]
	if h == nil {
		h = &hostQueue{}
		s.hosts[host] = h
	}
	if len(h.q) == 0 {
		s.ring = append(s.ring, host)
	}
	h.q = append(h.q, a)
	s.pending++
	s.cond.Broadcast()
	return true
}

// pop returns the next asset of a host below its share, waiting for one;
// false once the queue is closed and empty, or the run stopped.
func (s *sched) pop() (Asset, string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		if s.stopped {
			return Asset{}, "", false
		}
		for i := range s.ring {
			k := (s.next + i) % len(s.ring)
			host := s.ring[k]
			h := s.hosts[host]
			if h.active >= s.share {
				continue
			}
			a := h.q[0]
			h.q[0] = Asset{}
			h.q = h.q[1:]
			h.active++
			s.pending--
			if len(h.q) == 0 {
				s.ring = append(s.ring[:k], s.ring[k+1:]...)
				s.next = k
			} else {
				s.next = k + 1
			}
			if len(s.ring) > 0 {
				s.next %= len(s.ring)
			} else {
				s.next = 0
			}
			s.cond.Broadcast()
			return a, host, true
		}
		if s.closed && s.pending == 0 {
			return Asset{}, "", false
		}
		s.cond.Wait()
	}
}

// done gives host's slot back after delay (the spacing between requests
// to one host), without holding the worker meanwhile.
func (s *sched) done(host string, delay time.Duration) {
	free := func() {
		s.mu.Lock()
		h := s.hosts[host]
		h.active--
		if h.active == 0 && len(h.q) == 0 {
			delete(s.hosts, host)
		}
		s.mu.Unlock()
		s.cond.Broadcast()
	}
	if delay > 0 {
		time.AfterFunc(delay, free)
		return
	}
	free()
}

// close says no more assets will be pushed.
func (s *sched) close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cond.Broadcast()
}
