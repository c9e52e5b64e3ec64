package tracer

import "container/heap"

// queue is a priority queue of the walks' pending work, in chain order as
// less defines it.
type queue[T any] struct {
	items []T
	less  func(a, b T) bool
}

func newQueue[T any](less func(a, b T) bool) *queue[T] { return &queue[T]{less: less} }

func (q *queue[T]) Len() int           { return len(q.items) }
func (q *queue[T]) Less(i, j int) bool { return q.less(q.items[i], q.items[j]) }
func (q *queue[T]) Swap(i, j int)      { q.items[i], q.items[j] = q.items[j], q.items[i] }
func (q *queue[T]) Push(x any)         { q.items = append(q.items, x.(T)) }
func (q *queue[T]) Pop() any {
	n := len(q.items) - 1
	x := q.items[n]
	var zero T
	q.items[n] = zero
	q.items = q.items[:n]
	return x
}

// push adds x.
func (q *queue[T]) push(x T) { heap.Push(q, x) }

// pop removes and returns the first item.
func (q *queue[T]) pop() T { return heap.Pop(q).(T) }
