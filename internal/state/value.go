package state

import (
	"reflect"
	"sync"
)

// Value is one component's own state: a typed value that its owner sets
// and others follow. It is the input of the agent's projection, so no
// field of the snapshot has two writers. Set publishes only on change;
// subscribers have a one-slot mailbox with the newest value, like Store.
// Safe for concurrent use. A value's pointers and slices are shared with
// readers: Set must replace them, never change them in place.
type Value[T any] struct {
	mu   sync.Mutex
	cur  T
	subs map[chan T]struct{}
}

// NewValue returns a Value holding initial.
func NewValue[T any](initial T) *Value[T] {
	return &Value[T]{cur: initial, subs: map[chan T]struct{}{}}
}

// Get returns the current value.
func (v *Value[T]) Get() T {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.cur
}

// Set applies change and publishes the result if it differs; it reports
// whether it did.
func (v *Value[T]) Set(change func(*T)) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	next := v.cur
	change(&next)
	if reflect.DeepEqual(next, v.cur) {
		return false
	}
	v.cur = next
	for ch := range v.subs {
		Offer(ch, next)
	}
	return true
}

// Subscribe returns a channel that holds the current value at once and
// then always the newest, and a cancel function.
func (v *Value[T]) Subscribe() (<-chan T, func()) {
	ch := make(chan T, 1)
	v.mu.Lock()
	ch <- v.cur
	v.subs[ch] = struct{}{}
	v.mu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			v.mu.Lock()
			delete(v.subs, ch)
			v.mu.Unlock()
		})
	}
}

// Feed carries a component's edge events (update ready, session ended):
// unlike a Value, every event reaches every subscriber, in order, and
// none collapses into a later one. Publish never blocks; a subscriber's
// queue grows until it reads. Safe for concurrent use.
type Feed[T any] struct {
	mu   sync.Mutex
	subs map[*Events[T]]struct{}
}

// Events is one subscriber's queue of a Feed.
type Events[T any] struct {
	feed  *Feed[T]
	mu    sync.Mutex
	queue []T
	ready chan struct{}
}

// Publish queues e for every subscriber.
func (f *Feed[T]) Publish(e T) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for s := range f.subs {
		s.mu.Lock()
		s.queue = append(s.queue, e)
		s.mu.Unlock()
		select {
		case s.ready <- struct{}{}:
		default:
		}
	}
}

// Subscribe returns a queue of the events published from now on.
func (f *Feed[T]) Subscribe() *Events[T] {
	s := &Events[T]{feed: f, ready: make(chan struct{}, 1)}
	f.mu.Lock()
	if f.subs == nil {
		f.subs = map[*Events[T]]struct{}{}
	}
	f.subs[s] = struct{}{}
	f.mu.Unlock()
	return s
}

// Ready receives when events may be queued; then call Take.
func (s *Events[T]) Ready() <-chan struct{} { return s.ready }

// Take returns the queued events, oldest first, and empties the queue.
func (s *Events[T]) Take() []T {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.queue
	s.queue = nil
	return q
}

// Close stops the queue; events published later are not kept.
func (s *Events[T]) Close() {
	s.feed.mu.Lock()
	delete(s.feed.subs, s)
	s.feed.mu.Unlock()
}
