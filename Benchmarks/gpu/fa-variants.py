# helper fa (session 6): builds the cubins that fa-sweep.py times, without a GPU. Emulates
# FlashAttentionTensorCoreKernels.source() from the Swift file (its multi-line string, with the tile
# constants overridden per variant; width 128 only), compiles each variant with NVRTC for sm_90 (same
# options as NVRTCCompiler plus --ptxas-options=-v) and prints registers and spills per kernel.
# usage: python3 fa-variants.py KERNELS.swift VARIANTS.json OUTDIR [LIBNVRTC]
#   VARIANTS.json: {"name": {"keyTile": 64, "dkdvThreads": 128, ...}, ...} (constants not named keep
#   the Swift file's values); OUTDIR gets name.cubin and name.json (the constants) per variant.
# NVRTC: pip install nvidia-cuda-nvrtc-cu12 (12.9 here); the device driver (580) loads its cubins.
import ctypes, json, os, re, sys
from concurrent.futures import ThreadPoolExecutor

def gen(path, widths=(64,128), **over):
    s=open(path).read()
    vals={}
    for name in ['forwardThreads','dqThreads','dkdvThreads','keyTile','dqKeyTile','dkdvQueries']:
        m=re.search(r'public static let %s = (\d+)'%name,s); vals[name]=int(m.group(1))
    vals.update(over); vals["gridHeadsX"] = 1
    vals['forwardRows']=vals['forwardThreads']//2; vals['dqRows']=vals['dqThreads']//2; vals['dkdvKeys']=vals['dkdvThreads']//2
    i=s.index('let instances = headWidths.map { d in')
    k=s.index('"""',i); j=s.index('"""',k+3)
    inst='\n'.join(l[12:] for l in s[k+3:j].split('\n')[1:-1])+'\n'
    parts=[]
    for d in widths:
        t=inst.replace('\\(d)',str(d))
        t=re.sub(r'\\\(kernelName\("(\w+)", headDim: d\)\)',lambda m:'xmoe_fatc_%s_d%d'%(m.group(1),d),t)
        parts.append(t)
    i=s.index('return """\n        // xmoe flash'); k=i+len('return ')
    j=s.index('\n        """',k+3)
    src='\n'.join(l[8:] for l in s[k+4:j].split('\n'))+'\n'
    src=src.replace('\\\n','')
    for n,v in vals.items(): src=src.replace('\\(%s)'%n,str(v))
    src=src.replace('\\(instances)','\n'.join(parts))
    assert '\\(' not in src, re.findall(r'\\\(.{20}',src)
    return src, vals

def compile_cubin(lib, src, name):
    prog = ctypes.c_void_p()
    assert lib.nvrtcCreateProgram(ctypes.byref(prog), src.encode(), name.encode(), 0, None, None) == 0
    opts = [b"--gpu-architecture=sm_90", b"--std=c++17", b"-default-device", b"--fmad=true", b"--ptxas-options=-v"]
    r = lib.nvrtcCompileProgram(prog, len(opts), (ctypes.c_char_p * len(opts))(*opts))
    n = ctypes.c_size_t(); lib.nvrtcGetProgramLogSize(prog, ctypes.byref(n))
    buf = ctypes.create_string_buffer(n.value); lib.nvrtcGetProgramLog(prog, buf)
    if r != 0: return None, buf.value.decode()
    lib.nvrtcGetCUBINSize(prog, ctypes.byref(n)); cub = ctypes.create_string_buffer(n.value); lib.nvrtcGetCUBIN(prog, cub)
    return cub.raw, buf.value.decode()

def summarize(log):
    out, cur = [], None
    for l in log.splitlines():
        if "Compiling entry" in l: cur = l.split("'")[1].replace("xmoe_fatc_", "")
        elif "Used" in l and cur: out.append("%s:%s regs" % (cur, l.split("Used ")[1].split(" registers")[0]))
        elif "spill" in l and cur and re.search(r"[1-9]\d* bytes spill", l): out.append("%s SPILLS (%s)" % (cur, l.strip()))
    return " ".join(out)

if __name__ == "__main__":
    swift, variants, outdir = sys.argv[1], json.load(open(sys.argv[2])), sys.argv[3]
    lib = ctypes.CDLL(sys.argv[4] if len(sys.argv) > 4 else "libnvrtc.so.12")
    os.makedirs(outdir, exist_ok=True)
    def one(item):
        name, over = item
        src, vals = gen(swift, widths=(128,), **over)
        cub, log = compile_cubin(lib, src, name)
        if cub is None: return name, "FAILED " + log[:2000]
        open(os.path.join(outdir, name + ".cubin"), "wb").write(cub)
        json.dump(vals, open(os.path.join(outdir, name + ".json"), "w"))
        return name, summarize(log)
    with ThreadPoolExecutor(2) as ex:
        for name, summary in ex.map(one, variants.items()): print(name, summary, flush=True)
