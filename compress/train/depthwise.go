package train

// Depthwise convolution (MobileNets): one KH x KW filter per channel,
// direct loops (the layer is cheap next to the 1x1 convolutions around it).

func dwForward(l *Layer, in, out []float32, bs int) {
	is, os := l.inShape, l.outShape
	ihw, ohw, k := is.H*is.W, os.H*os.W, l.KH*l.KW
	for s := 0; s < bs; s++ {
		for c := 0; c < is.C; c++ {
			x := in[(s*is.C+c)*ihw : (s*is.C+c+1)*ihw]
			y := out[(s*os.C+c)*ohw : (s*os.C+c+1)*ohw]
			w := l.W.Data[c*k : (c+1)*k]
			b := l.B.Data[c]
			for oy := 0; oy < os.H; oy++ {
				for ox := 0; ox < os.W; ox++ {
					acc := b
					for ky := 0; ky < l.KH; ky++ {
						iy := oy*l.SH - l.PadT + ky
						if iy < 0 || iy >= is.H {
							continue
						}
						for kx := 0; kx < l.KW; kx++ {
							ix := ox*l.SW - l.PadL + kx
							if ix >= 0 && ix < is.W {
								acc += w[ky*l.KW+kx] * x[iy*is.W+ix]
							}
						}
					}
					y[oy*os.W+ox] = acc
				}
			}
		}
	}
}

func dwBackward(l *Layer, ws *workspace, dy, dx []float32, bs int) {
	is, os := l.inShape, l.outShape
	ihw, ohw, k := is.H*is.W, os.H*os.W, l.KH*l.KW
	in := ws.act[l.In[0]]
	dw := ws.pgrad[l.W.index]
	db := ws.pgrad[l.B.index]
	for s := 0; s < bs; s++ {
		for c := 0; c < is.C; c++ {
			x := in[(s*is.C+c)*ihw : (s*is.C+c+1)*ihw]
			g := dy[(s*os.C+c)*ohw : (s*os.C+c+1)*ohw]
			w := l.W.Data[c*k : (c+1)*k]
			gw := dw[c*k : (c+1)*k]
			var d []float32
			if dx != nil {
				d = dx[(s*is.C+c)*ihw : (s*is.C+c+1)*ihw]
			}
			for oy := 0; oy < os.H; oy++ {
				for ox := 0; ox < os.W; ox++ {
					gv := g[oy*os.W+ox]
					db[c] += gv
					for ky := 0; ky < l.KH; ky++ {
						iy := oy*l.SH - l.PadT + ky
						if iy < 0 || iy >= is.H {
							continue
						}
						for kx := 0; kx < l.KW; kx++ {
							ix := ox*l.SW - l.PadL + kx
							if ix < 0 || ix >= is.W {
								continue
							}
							gw[ky*l.KW+kx] += gv * x[iy*is.W+ix]
							if d != nil {
								d[iy*is.W+ix] += gv * w[ky*l.KW+kx]
							}
						}
					}
				}
			}
		}
	}
}
