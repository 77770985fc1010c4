package execute

import "testing"

func TestBufferClasses(t *testing.T) {
	cases := []struct{ size, class, capacity int }{
		{0, 0, 4 << 10},
		{1, 0, 4 << 10},
		{4 << 10, 0, 4 << 10},
		{4<<10 + 1, 1, 6 << 10},
		{6 << 10, 1, 6 << 10},
		{6<<10 + 1, 2, 8 << 10},
		{100_000, 10, 128 << 10},
		{96 << 10, 9, 96 << 10},
		{12 << 20, 23, 12 << 20},
		{16 << 20, 24, 16 << 20},
		{16<<20 + 1, -1, 0},
	}
	for _, c := range cases {
		got := classFor(c.size)
		if got != c.class {
			t.Errorf("classFor(%d) = %d, want %d", c.size, got, c.class)
			continue
		}
		if got >= 0 && classSize(got) != c.capacity {
			t.Errorf("classSize(%d) = %d, want %d", got, classSize(got), c.capacity)
		}
	}
	// Every class holds what it is chosen for, and is the smallest that does.
	for size := 1; size <= maxPooled; size += size/7 + 1 {
		c := classFor(size)
		if classSize(c) < size || c > 0 && classSize(c-1) >= size {
			t.Fatalf("classFor(%d) = %d (%d bytes)", size, c, classSize(c))
		}
	}
}

func TestBuffersFitWhatIsAsked(t *testing.T) {
	// A buffer grown past its class goes back to the largest class it
	// holds, so a later request of that class's size fits it.
	b := getBuffer(5000)
	if cap(b) < 5000 {
		t.Fatalf("cap %d < 5000", cap(b))
	}
	putBuffer(make([]byte, 0, 7000)) // class of 6 KiB
	for range 100 {
		if b := getBuffer(6 << 10); cap(b) < 6<<10 {
			t.Fatalf("getBuffer(6 KiB) returned cap %d", cap(b))
		}
	}
	big := getBuffer(maxPooled + 1)
	if cap(big) < maxPooled+1 {
		t.Fatalf("cap %d", cap(big))
	}
	putBuffer(big) // not pooled: over the largest class
}
