// Package enum parses the string enumerations of configurations (codecs,
// schedules): one value by its name, "" naming the default.
package enum

// Parse returns the value of values named s; "" names the first value,
// the default. ok is false when s names none of them.
func Parse[T ~string](s string, values ...T) (v T, ok bool) {
	if s == "" && len(values) > 0 {
		return values[0], true
	}
	for _, v := range values {
		if string(v) == s {
			return v, true
		}
	}
	return v, false
}
