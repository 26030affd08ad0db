// Package oiptest holds test helpers for the inference endpoint: an HTTP
// POST that returns status, headers and body, and a decompression bomb
// (a tiny PNG whose header declares a huge image).
package oiptest

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/png"
	"io"
	"net/http"
	"testing"
)

// Post sends body to url with the headers hdr and returns the status,
// headers and body of the answer.
func Post(t testing.TB, url string, hdr map[string]string, body []byte) (int, http.Header, []byte) {
	t.Helper()
	status, h, b, err := PostWith(http.DefaultClient, url, hdr, body)
	if err != nil {
		t.Fatal(err)
	}
	return status, h, b
}

// PostWith is Post through client c, returning the error.
func PostWith(c *http.Client, url string, hdr map[string]string, body []byte) (int, http.Header, []byte, error) {
	req, err := http.NewRequest("POST", url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, nil, err
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b, err
}

// BombPNG returns a valid one-pixel PNG whose header declares w x h
// pixels.
func BombPNG(t testing.TB, w, h int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, 1, 1))); err != nil {
		t.Fatal(err)
	}
	p := b.Bytes()
	// IHDR: 8-byte signature, length, "IHDR", width, height, ...; its CRC
	// covers the type and the 13 data bytes.
	binary.BigEndian.PutUint32(p[16:], uint32(w))
	binary.BigEndian.PutUint32(p[20:], uint32(h))
	binary.BigEndian.PutUint32(p[29:], crc32.ChecksumIEEE(p[12:29]))
	return p
}
