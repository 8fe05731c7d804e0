import Foundation
import Testing
@testable import XMoECompute

func referenceGelu(_ x: [Double]) -> [Double] {
    x.map { v in 0.5 * v * (1 + tanh((2 / Double.pi).squareRoot() * (v + 0.044715 * v * v * v))) }
}

func referenceSilu(_ x: [Double]) -> [Double] { x.map { $0 / (1 + exp(-$0)) } }

func referenceSwiglu(_ gateUp: [Double], f: Int) -> [Double] {
    let rows = gateUp.count / (2 * f)
    var out = [Double](repeating: 0, count: rows * f)
    for r in 0..<rows {
        for j in 0..<f {
            let g = gateUp[r * 2 * f + j]
            out[r * f + j] = g / (1 + exp(-g)) * gateUp[r * 2 * f + f + j]
        }
    }
    return out
}

@Suite struct ActivationTests {
    let backend = CPUBackend()

    @Test func gelu() {
        var random = TestRandom(seed: 20)
        let x = random.floats(12, scale: 3), up = random.floats(12)
        let out = backend.makeTensor([3, 4]), dX = backend.makeTensor([3, 4])
        let xT = backend.tensor([3, 4], x)
        backend.geluForward(xT, out: out)
        expectClose(backend.downloadFloats(out), referenceGelu(x.doubles), atol: 1e-6, rtol: 1e-5, "gelu")
        backend.geluBackward(x: xT, dOut: backend.tensor([3, 4], up), dX: dX)
        expectClose(backend.downloadFloats(dX), numericalGradient(of: referenceGelu, at: x.doubles, upstream: up.doubles),
                    atol: gradATol, rtol: gradRTol, "gelu dX")
    }

    @Test func silu() {
        var random = TestRandom(seed: 21)
        let x = random.floats(12, scale: 4), up = random.floats(12)
        let out = backend.makeTensor([12]), dX = backend.makeTensor([12])
        let xT = backend.tensor([12], x)
        backend.siluForward(xT, out: out)
        expectClose(backend.downloadFloats(out), referenceSilu(x.doubles), atol: 1e-6, rtol: 1e-5, "silu")
        backend.siluBackward(x: xT, dOut: backend.tensor([12], up), dX: dX)
        expectClose(backend.downloadFloats(dX), numericalGradient(of: referenceSilu, at: x.doubles, upstream: up.doubles),
                    atol: gradATol, rtol: gradRTol, "silu dX")
    }

    @Test func swiglu() {
        var random = TestRandom(seed: 22)
        let (rows, f) = (3, 4)
        let gu = random.floats(rows * 2 * f, scale: 3), up = random.floats(rows * f)
        let guT = backend.tensor([rows, 2 * f], gu)
        let out = backend.makeTensor([rows, f]), dGU = backend.makeTensor([rows, 2 * f])
        backend.swigluForward(gateUp: guT, out: out)
        expectClose(backend.downloadFloats(out), referenceSwiglu(gu.doubles, f: f), atol: 1e-6, rtol: 1e-5, "swiglu")
        backend.swigluBackward(gateUp: guT, dOut: backend.tensor([rows, f], up), dGateUp: dGU)
        expectClose(backend.downloadFloats(dGU), numericalGradient(of: { referenceSwiglu($0, f: f) }, at: gu.doubles, upstream: up.doubles),
                    atol: gradATol, rtol: gradRTol, "swiglu dGateUp")
    }
}
