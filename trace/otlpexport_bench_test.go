package trace

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"google.golang.org/grpc"
)

// BenchmarkExportAllocs exports testSpans over HTTP and gRPC to in-process
// servers, for the exporter's allocations per export (-benchmem).
//
//	go test ./trace -run '^$' -bench ExportAllocs -benchmem
func BenchmarkExportAllocs(b *testing.B) {
	spans := testSpans(&testing.T{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
	}))
	defer srv.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	gs := grpc.NewServer(grpc.ForceServerCodec(rawCodec{}), grpc.UnknownServiceHandler(func(_ any, st grpc.ServerStream) error {
		var m rawMessage
		if err := st.RecvMsg(&m); err != nil {
			return err
		}
		return st.SendMsg(&rawMessage{})
	}))
	go gs.Serve(ln)
	defer gs.Stop()
	cases := []struct {
		name string
		s    settings
	}{
		{"http", settings{protocol: ProtocolHTTPProtobuf, endpoint: srv.URL + "/v1/traces", retry: true}},
		{"http-gzip", settings{protocol: ProtocolHTTPProtobuf, endpoint: srv.URL + "/v1/traces", retry: true, gzip: true}},
		{"grpc", settings{protocol: ProtocolGRPC, endpoint: "http://" + ln.Addr().String(), retry: true}},
		{"grpc-gzip", settings{protocol: ProtocolGRPC, endpoint: "http://" + ln.Addr().String(), retry: true, gzip: true}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			e, err := newFastExporter(&c.s)
			if err != nil {
				b.Fatal(err)
			}
			defer e.Shutdown(context.Background())
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if err := e.ExportSpans(ctx, spans); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
