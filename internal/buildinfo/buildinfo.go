// Package buildinfo reads what the Go toolchain stamped into the binary
// (runtime/debug.ReadBuildInfo): module version, VCS revision, Go version.
// splitinfer version prints it and the trace package takes service.version
// from it.
package buildinfo

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// Info describes the running binary.
type Info struct {
	Module    string // main module path, "" when unknown (e.g. a test binary)
	Version   string // module version, "(devel)" for a build from a work tree
	Revision  string // VCS revision, "" when not stamped (-buildvcs=false)
	Time      string // VCS commit time (RFC 3339), "" when not stamped
	Modified  bool   // the work tree had uncommitted changes
	GoVersion string // Go toolchain that built the binary
}

// Read returns the running binary's build information; fields the
// toolchain did not stamp stay empty, Version "(devel)".
func Read() Info {
	info := Info{Version: "(devel)", GoVersion: runtime.Version()}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return info
	}
	info.Module = bi.Main.Path
	if bi.Main.Version != "" {
		info.Version = bi.Main.Version
	}
	if bi.GoVersion != "" {
		info.GoVersion = bi.GoVersion
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			info.Revision = s.Value
		case "vcs.time":
			info.Time = s.Value
		case "vcs.modified":
			info.Modified = s.Value == "true"
		}
	}
	return info
}

// ServiceVersion is the version to report as service.version: the module
// version, or for a development build "(devel)" followed by the short VCS
// revision when there is one ("(devel)+0123abcd4567", "+dirty" appended
// for a modified tree).
func (i Info) ServiceVersion() string {
	v := i.Version
	if v != "(devel)" || i.Revision == "" {
		return v
	}
	rev := i.Revision
	if len(rev) > 12 {
		rev = rev[:12]
	}
	v += "+" + rev
	if i.Modified {
		v += "-dirty"
	}
	return v
}

// WriteText prints the information as splitinfer version does.
func (i Info) WriteText(w io.Writer) {
	rev := i.Revision
	if rev == "" {
		rev = "unknown (built without VCS stamping)"
	} else if i.Modified {
		rev += " (modified)"
	}
	module := i.Module
	if module == "" {
		module = "github.com/splitinfer/splitinfer"
	}
	fmt.Fprintf(w, "splitinfer %s\nmodule:   %s\nrevision: %s\ngo:       %s\n", i.Version, module, rev, i.GoVersion)
}
