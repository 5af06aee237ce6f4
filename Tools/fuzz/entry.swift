// libFuzzer's entry point, linked by Tools/fuzz/run with the instrumented CaseLedgerFuzzing objects.
import CaseLedgerFuzzing

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    FuzzTarget.run(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}
