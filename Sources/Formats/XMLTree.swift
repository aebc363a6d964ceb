// The thin layer between ledgerd and libxml2. Everything C lives in this file.
//
// Why libxml2 directly and not Foundation's XMLParser: the pipeline has to post more than
// 10,000 EHF files a second on two cores, so reading a 5 KB invoice must cost tens of
// microseconds. XMLParser is a SAX wrapper that turns every element, attribute and text
// run into Swift strings and delegate calls (≈ 0.3 ms per 10 KB invoice, see
// STACK-NOTES). Here libxml2's SAX2 parser hands each element, attribute and text run to
// callbacks that append them to a few flat arrays (`ElementTable`), and the UBL reader walks
// those with raw pointers, creating Swift values only for the fields ledgerd keeps.
//
// Why not libxml2's own tree (what its read functions return): it allocates and later frees a
// node per element, text and attribute, some 130 elements and as many texts for a small
// invoice. Building and freeing that tree made parsing half as expensive again (32 µs
// against 20 µs per 8 KB invoice, measured in C); the flat table is reused by the next
// document, so once a thread has parsed its first one the table allocates nothing more.
//
// Safety: documents with a DTD are refused before libxml2 sees them (UBL never has one),
// the input is parsed as UTF-8 whatever it declares, and the options never include
// NOENT (entity substitution), DTDLOAD/DTDATTR (loading DTDs) or HUGE (lifting libxml2's
// depth and size limits); NONET forbids network access in any case. Each thread uses its
// own parser context, so different documents can be parsed on different threads at once.
//
// Limits (XML-LIMIT), so that no file within the size limit costs more than a fraction of
// a second or a small multiple of its size in memory, whatever it contains:
// - elements nested deeper than 256 levels (libxml2's own limit, also checked by the scan);
// - checked by a scan of the bytes before libxml2 reads anything (`scanMarkup`): more than
//   500,000 elements, attributes, comments and processing instructions in all (48 MB of
//   `<a/>` took 1.7 GB as a libxml2 tree), and more than 256 attributes on one element
//   (libxml2 2.9 checks them for duplicates pairwise: 200,000 attributes on one element, a
//   2 MB file, took 85 seconds);
// - checked as elements are read: a document that takes the parser's name dictionary past
//   32,768 names, at least 16,384 of them its own (libxml2 2.9's dictionary slows down as it
//   grows: a million different element names took 19 seconds).
// A text (an embedded attachment) may be as large as the file: libxml2's 10 MB limit on
// one text is lifted for files larger than that, the only ones that could reach it.

internal import CLibXML2
import LedgerCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// libxml2's global state is set up once, lazily and thread-safely (Swift globals are
/// initialised with `swift_once`).
private let libxml2Initialised: Bool = {
    xmlInitParser()
    return true
}()

/// A growable array in manually managed memory, for the SAX callbacks: they run once per
/// element and per text run, and appending to Swift arrays held by a class costs an
/// exclusivity check and a uniqueness check on every call. Only for plain values.
private struct RawList<Element: BitwiseCopyable> {
    private(set) var base: UnsafeMutablePointer<Element>
    private(set) var count = 0
    private(set) var capacity: Int

    init(capacity: Int) {
        self.capacity = max(1, capacity)
        base = .allocate(capacity: self.capacity)
    }

    @inline(__always) subscript(index: Int) -> Element {
        get { base[index] }
        nonmutating set { base[index] = newValue }
    }

    @inline(__always) mutating func append(_ element: Element) {
        if count == capacity { reserve(count + 1) }
        (base + count).initialize(to: element)
        count += 1
    }

    // Inlined into the callbacks, which call it for each text run and attribute value (a call
    // of its own cost ~30 instructions each, 0.15 % of a file's).
    @inline(__always) mutating func append(contentsOf source: UnsafePointer<Element>, count n: Int) {
        if count + n > capacity { reserve(count + n) }
        (base + count).update(from: source, count: n)
        count += n
    }

    @inline(__always) mutating func removeLast() { count -= 1 }

    mutating func removeAll() { count = 0 }

    mutating func reserve(_ minimum: Int) {
        guard minimum > capacity else { return }
        let grown = max(minimum, capacity * 2)
        let new = UnsafeMutablePointer<Element>.allocate(capacity: grown)
        new.moveInitialize(from: base, count: count)
        base.deallocate()
        base = new
        capacity = grown
    }

    func deallocate() { base.deallocate() }
}

/// One element as the SAX callbacks saw it. Indices are into the table's lists; -1 is none.
private struct ElementRecord: BitwiseCopyable {
    /// Local name and namespace URI: libxml2 dictionary strings, alive as long as the parser
    /// context (one URI has one address within a document).
    var name: UnsafePointer<UInt8>
    var namespace: UnsafePointer<UInt8>?
    var firstChild: Int32 = -1
    var lastChild: Int32 = -1
    var nextSibling: Int32 = -1
    var firstText: Int32 = -1
    var lastText: Int32 = -1
    var firstAttribute: Int32
    var attributeCount: Int32 = 0
}

/// A run of an element's own text in the table's bytes, and the next run of the same element.
private struct TextRun: BitwiseCopyable {
    var start: Int32
    var count: Int32
    var next: Int32 = -1
}

/// An attribute in no namespace; its value is in the table's bytes.
private struct AttributeRecord: BitwiseCopyable {
    var name: UnsafePointer<UInt8>
    var start: Int32
    var count: Int32
}

/// The parsed document: every element in document order, the runs of text directly inside
/// each, and the attributes in no namespace (UBL's `currencyID`, `schemeID`, …). Owned by
/// one parser context, refilled for each document it parses.
private struct ElementTable {
    var elements = RawList<ElementRecord>(capacity: 256)
    var texts = RawList<TextRun>(capacity: 256)
    var attributes = RawList<AttributeRecord>(capacity: 64)
    var bytes = RawList<UInt8>(capacity: 16 << 10)
    /// Elements started and not yet ended, innermost last.
    var open = RawList<Int32>(capacity: 32)
    /// Set when the document declared a DTD (defence in depth: the prolog scan refuses one).
    var sawDoctype = false

    mutating func reset() {
        elements.removeAll()
        texts.removeAll()
        attributes.removeAll()
        bytes.removeAll()
        open.removeAll()
        sawDoctype = false
    }

    /// Larger than a table worth keeping for the next document.
    var isLarge: Bool {
        elements.capacity > 1 << 14 || bytes.capacity > 1 << 20 || texts.capacity > 1 << 14
            || attributes.capacity > 1 << 14
    }

    func deallocate() {
        elements.deallocate()
        texts.deallocate()
        attributes.deallocate()
        bytes.deallocate()
        open.deallocate()
    }

    mutating func startElement(
        name: UnsafePointer<UInt8>, namespace: UnsafePointer<UInt8>?, attributeCount: Int,
        attributes values: UnsafeMutablePointer<UnsafePointer<xmlChar>?>?
    ) {
        let index = Int32(elements.count)
        var record = ElementRecord(name: name, namespace: namespace, firstAttribute: Int32(attributes.count))
        if let values {
            // Five pointers per attribute: local name, prefix, URI, value start, value end.
            for i in 0..<attributeCount {
                let a = values + 5 * i
                guard a[2] == nil, let attributeName = a[0], let start = a[3], let end = a[4] else { continue }
                let offset = Int32(bytes.count)
                appendAttributeValue(start, count: end - start)
                attributes.append(
                    AttributeRecord(name: attributeName, start: offset, count: Int32(bytes.count) - offset))
                record.attributeCount += 1
            }
        }
        elements.append(record)
        if open.count > 0 {
            let parent = Int(open[open.count - 1])
            let last = elements[parent].lastChild
            if last >= 0 {
                elements.base[Int(last)].nextSibling = index
            } else {
                elements.base[parent].firstChild = index
            }
            elements.base[parent].lastChild = index
        }
        open.append(index)
    }

    /// libxml2 hands attribute values over with character and entity references resolved,
    /// except that an `&` comes as `&#38;` (for its own tree builder to decode): decoded here.
    private mutating func appendAttributeValue(_ start: UnsafePointer<xmlChar>, count: Int) {
        guard memchr(start, Int32(UInt8(ascii: "&")), count) != nil else {
            bytes.append(contentsOf: start, count: count)
            return
        }
        var i = 0
        while i < count {
            if start[i] == UInt8(ascii: "&"), i + 4 < count, start[i + 1] == UInt8(ascii: "#"),
                start[i + 2] == UInt8(ascii: "3"), start[i + 3] == UInt8(ascii: "8"), start[i + 4] == UInt8(ascii: ";")
            {
                bytes.append(UInt8(ascii: "&"))
                i += 5
            } else {
                bytes.append(start[i])
                i += 1
            }
        }
    }

    @inline(__always) mutating func endElement() {
        if open.count > 0 { open.removeLast() }
    }

    mutating func characters(_ text: UnsafePointer<xmlChar>, count: Int) {
        guard open.count > 0, count > 0 else { return }
        let element = Int(open[open.count - 1])
        let last = elements[element].lastText
        // White space before an element's first text is not kept: every reader of a text
        // trims it (`XMLTree.trim`), and most such runs are the indentation between elements,
        // nearly half of the runs of an invoice.
        if last < 0, XMLTree.isBlank(text, count: count) { return }
        let start = Int32(bytes.count)
        bytes.append(contentsOf: text, count: count)
        if last >= 0, texts[Int(last)].start + texts[Int(last)].count == start {
            // The usual case: the same text continued (libxml2 splits a text at each reference).
            texts.base[Int(last)].count += Int32(count)
            return
        }
        let run = Int32(texts.count)
        texts.append(TextRun(start: start, count: Int32(count)))
        if last >= 0 {
            texts.base[Int(last)].next = run
        } else {
            elements.base[element].firstText = run
        }
        elements.base[element].lastText = run
    }
}

/// One libxml2 parser context and its element table per thread, kept between documents:
/// creating a context and its name dictionary costs about a tenth of parsing a small
/// invoice. `xmlCtxtReadIO` resets the context before each document. A context whose
/// dictionary has grown past a bound (element names are interned there, and hostile files
/// can invent many), or whose table grew large, is freed instead of kept, so memory stays
/// bounded.
private enum ParserContexts {
    static let dictionaryLimit: Int32 = 16_384

    /// The thread-local slot; nil if the system had no key to give (then nothing is kept).
    static let key: pthread_key_t? = {
        var key = pthread_key_t()
        #if canImport(Glibc)
            let status = pthread_key_create(&key) { raw in
                if let raw { ParserContexts.free(raw.assumingMemoryBound(to: xmlParserCtxt.self)) }
            }
        #else
            let status = pthread_key_create(&key) { raw in
                ParserContexts.free(raw.assumingMemoryBound(to: xmlParserCtxt.self))
            }
        #endif
        return status == 0 ? key : nil
    }()

    /// The element table a context fills (kept in its `_private` field, which libxml2 never
    /// touches).
    @inline(__always) static func table(_ raw: UnsafeMutableRawPointer) -> UnsafeMutablePointer<ElementTable>? {
        raw.assumingMemoryBound(to: xmlParserCtxt.self).pointee._private?.assumingMemoryBound(to: ElementTable.self)
    }

    static func acquire() -> UnsafeMutablePointer<xmlParserCtxt>? {
        if let key, let raw = pthread_getspecific(key) {
            pthread_setspecific(key, nil)
            return raw.assumingMemoryBound(to: xmlParserCtxt.self)
        }
        guard let context = xmlNewParserCtxt(), let sax = context.pointee.sax else { return nil }
        let table = UnsafeMutablePointer<ElementTable>.allocate(capacity: 1)
        table.initialize(to: ElementTable())
        context.pointee._private = UnsafeMutableRawPointer(table)
        // Errors are read from the context after parsing (xmlCtxtGetLastError). A structured
        // handler on the context itself (besides XML_PARSE_NOERROR/NOWARNING) means libxml2
        // never falls back to printing them on stderr.
        sax.pointee.serror = { _, _ in }
        // No libxml2 document or tree: elements, attributes and text go to the table.
        sax.pointee.startDocument = nil
        sax.pointee.endDocument = nil
        sax.pointee.comment = nil
        sax.pointee.processingInstruction = nil
        sax.pointee.reference = nil
        sax.pointee.startElement = nil
        sax.pointee.endElement = nil
        sax.pointee.internalSubset = { raw, _, _, _ in
            guard let raw else { return }
            ParserContexts.table(raw)?.pointee.sawDoctype = true
            xmlStopParser(raw.assumingMemoryBound(to: xmlParserCtxt.self))
        }
        sax.pointee.externalSubset = sax.pointee.internalSubset
        // Each element start is checked first for a document that has brought too many new
        // names into the dictionary. A context is only kept with at most `dictionaryLimit`
        // names (see `release`), so each document may add at least as many again.
        sax.pointee.startElementNs = {
            raw, localName, _, uri, _, _, attributeCount, _, attributes in
            guard let raw, let localName, let table = ParserContexts.table(raw) else { return }
            let parser = raw.assumingMemoryBound(to: xmlParserCtxt.self)
            if let dict = parser.pointee.dict, xmlDictSize(dict) > 2 * ParserContexts.dictionaryLimit {
                xmlStopParser(parser)
                return
            }
            table.pointee.startElement(
                name: localName, namespace: uri, attributeCount: Int(attributeCount), attributes: attributes)
        }
        sax.pointee.endElementNs = { raw, _, _, _ in
            guard let raw else { return }
            ParserContexts.table(raw)?.pointee.endElement()
        }
        sax.pointee.characters = { raw, text, count in
            guard let raw, let text else { return }
            ParserContexts.table(raw)?.pointee.characters(text, count: Int(count))
        }
        // White space between elements is text like any other (without a tree, libxml2 cannot
        // tell ignorable white space apart anyway).
        sax.pointee.ignorableWhitespace = sax.pointee.characters
        sax.pointee.cdataBlock = sax.pointee.characters
        return context
    }

    /// Keeps `context` for the thread's next document, or frees it. One that parsed with
    /// XML_PARSE_HUGE is always freed: libxml2 2.9 never clears that option (nor the
    /// dictionary limit it removes) on a reused context, so the next document, however
    /// small and unscanned, would be parsed without libxml2's limits.
    static func release(_ context: UnsafeMutablePointer<xmlParserCtxt>, usedHuge: Bool) {
        let small = context.pointee.dict.map { xmlDictSize($0) <= dictionaryLimit } ?? true
        let table = table(UnsafeMutableRawPointer(context))
        if small, !usedHuge, table.map({ !$0.pointee.isLarge }) ?? true, let key, pthread_getspecific(key) == nil {
            pthread_setspecific(key, context)
        } else {
            free(context)
        }
    }

    static func free(_ context: UnsafeMutablePointer<xmlParserCtxt>) {
        if let table = table(UnsafeMutableRawPointer(context)) {
            table.pointee.deallocate()
            table.deinitialize(count: 1)
            table.deallocate()
            context.pointee._private = nil
        }
        xmlFreeParserCtxt(context)
    }
}

/// The bytes of a document being parsed, read by libxml2 in pieces (`xmlCtxtReadIO`),
/// followed by `padding` spaces.
///
/// Within 250 bytes (its INPUT_CHUNK) of the end of what it has read, libxml2 2.9 asks its
/// input for more at nearly every piece of markup, read callback and buffer checks each time:
/// over an invoice's last closing tags that is ~70 requests, ~19,000 instructions (2 % of all
/// the pipeline spends on an invoice). White space after the root element changes nothing
/// about a document (XML allows it there, and no malformed document becomes well-formed by it:
/// the spaces can close nothing), so the document is followed by more of it than libxml2
/// looks ahead, and the end of the real bytes is never within its reach; skipping the spaces
/// costs ~5,000 instructions. They add no line to the line numbers errors give.
private struct InputSource {
    static let padding = 256

    let base: UnsafeRawPointer
    let count: Int
    var offset = 0

    /// libxml2's read callback: copies up to `length` more bytes into `buffer`, then spaces;
    /// 0 at the end.
    static let read: xmlInputReadCallback = { context, buffer, length in
        guard let context, let buffer, length > 0 else { return 0 }
        let source = context.assumingMemoryBound(to: InputSource.self)
        let offset = source.pointee.offset
        let count = source.pointee.count
        let n = min(Int(length), count + padding - offset)
        guard n > 0 else { return 0 }
        let copied = max(0, min(n, count - offset))
        let target = UnsafeMutableRawPointer(buffer)
        if copied > 0 { target.copyMemory(from: source.pointee.base + offset, byteCount: copied) }
        if copied < n { (target + copied).initializeMemory(as: UInt8.self, repeating: 0x20, count: n - copied) }
        source.pointee.offset = offset + n
        return Int32(n)
    }
}

/// An element of a parsed document, valid inside `XMLTree.withDocument`.
struct XMLElement {
    fileprivate let table: UnsafePointer<ElementTable>
    fileprivate let index: Int32

    @inline(__always) private var record: ElementRecord { table.pointee.elements.base[Int(index)] }

    /// The element's local name, NUL-terminated (libxml2 dictionary string).
    @inline(__always) var name: UnsafePointer<UInt8> { record.name }

    /// Local name comparison without creating a Swift string.
    @inline(__always) func named(_ expected: StaticString) -> Bool {
        XMLTree.equal(record.name, expected)
    }

    /// The namespace URI's bytes, or nil for an element in no namespace.
    var namespaceURI: UnsafePointer<UInt8>? { record.namespace }

    /// An opaque identity for the element's namespace, for caching lookups.
    var namespaceKey: UnsafeRawPointer? { record.namespace.map { UnsafeRawPointer($0) } }

    /// The local name as a Swift string (for messages).
    var nameString: String { String(cString: record.name) }

    var namespaceString: String? { namespaceURI.map { String(cString: $0) } }

    @inline(__always) private func element(_ index: Int32) -> XMLElement? {
        index >= 0 ? XMLElement(table: table, index: index) : nil
    }

    /// The first child element, or nil.
    var firstChildElement: XMLElement? { element(record.firstChild) }

    /// The next sibling element, or nil.
    var nextSiblingElement: XMLElement? { element(record.nextSibling) }

    /// Child elements in document order.
    var children: XMLChildren { XMLChildren(first: firstChildElement) }

    /// Whether the element has any child element at all.
    var hasChildElements: Bool { record.firstChild >= 0 }

    /// Calls `body` with the element's own text (the text directly inside it, CDATA
    /// included), without copying in the usual case of one run. The bytes are UTF-8.
    func withText<R>(_ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        let first = record.firstText
        guard first >= 0 else { return body(UnsafeBufferPointer(start: nil, count: 0)) }
        let texts = table.pointee.texts
        let bytes = table.pointee.bytes.base
        let run = texts[Int(first)]
        if run.next < 0 {
            return body(UnsafeBufferPointer(start: bytes + Int(run.start), count: Int(run.count)))
        }
        var joined: [UInt8] = []
        forEachTextChunk { chunk in
            joined.append(contentsOf: chunk)
            return true
        }
        return joined.withUnsafeBufferPointer(body)
    }

    /// Feeds each run of the element's own text to `body` in order (no concatenation; used for
    /// multi-megabyte base64 attachments). Stops early when `body` returns false.
    func forEachTextChunk(_ body: (UnsafeBufferPointer<UInt8>) -> Bool) {
        let texts = table.pointee.texts
        let bytes = table.pointee.bytes.base
        var next = record.firstText
        while next >= 0 {
            let run = texts[Int(next)]
            if !body(UnsafeBufferPointer(start: bytes + Int(run.start), count: Int(run.count))) { return }
            next = run.next
        }
    }

    /// The trimmed text, or nil when it is empty or only white space.
    var trimmedText: String? {
        withText { buffer in
            let t = XMLTree.trim(buffer)
            return t.isEmpty ? nil : String(decoding: t, as: UTF8.self)
        }
    }

    /// The value of an attribute in no namespace (`currencyID`, `schemeID`, …), trimmed;
    /// nil when absent or empty.
    func attribute(_ name: StaticString) -> String? {
        withAttribute(name) { $0.isEmpty ? nil : String(decoding: $0, as: UTF8.self) } ?? nil
    }

    /// Calls `body` with the trimmed bytes of an attribute in no namespace, without making a
    /// string of them; nil when the element has no such attribute.
    func withAttribute<R>(_ name: StaticString, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R? {
        let r = record
        let attributes = table.pointee.attributes
        for i in Int(r.firstAttribute)..<Int(r.firstAttribute + r.attributeCount) {
            let a = attributes[i]
            if XMLTree.equal(a.name, name) {
                return body(
                    XMLTree.trim(
                        UnsafeBufferPointer(start: table.pointee.bytes.base + Int(a.start), count: Int(a.count))))
            }
        }
        return nil
    }
}

/// Child elements of one element, in document order.
struct XMLChildren: Sequence, IteratorProtocol {
    var current: XMLElement?
    init(first: XMLElement?) { current = first }

    mutating func next() -> XMLElement? {
        guard let c = current else { return nil }
        current = c.nextSiblingElement
        return c
    }
}

enum XMLTree {
    /// What the prolog (everything before the root element) says about the input.
    enum Prolog: Equatable {
        case element
        case empty
        case doctype
        case notUTF8
        /// The first thing in the file is not markup: not XML at all (a PDF, an image, text).
        case notMarkup
        case other
    }

    /// Scans the bytes before the root element. UBL documents never carry a DOCTYPE, and a
    /// DTD is where entity bombs and external entities live, so finding one is enough to
    /// refuse the file without parsing it. Comments and processing instructions are skipped
    /// properly, so a comment that merely mentions `<!DOCTYPE` is not mistaken for one.
    static func scanProlog(_ bytes: UnsafeRawBufferPointer) -> Prolog {
        let n = bytes.count
        var i = 0
        if n >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { i = 3 }
        // UTF-16/32 byte order marks or NUL bytes up front: not UTF-8 text. (An ASCII scan of
        // UTF-16 would not see "<!DOCTYPE", so such input is never handed to libxml2.)
        if n >= 2, (bytes[0] == 0xFE && bytes[1] == 0xFF) || (bytes[0] == 0xFF && bytes[1] == 0xFE) {
            return .notUTF8
        }
        var sawMarkup = false
        while i < n {
            let b = bytes[i]
            if b == 0 { return .notUTF8 }
            if b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D {
                i += 1
                continue
            }
            guard b == UInt8(ascii: "<") else { return sawMarkup ? .other : .notMarkup }
            sawMarkup = true
            guard i + 1 < n else { return .other }
            let next = bytes[i + 1]
            if next == UInt8(ascii: "?") {
                // Processing instruction or XML declaration: skip to "?>".
                guard let end = find(bytes, "?>", from: i + 2) else { return .other }
                if bytes[i..<end].contains(0) { return .notUTF8 }
                i = end + 2
                continue
            }
            if next == UInt8(ascii: "!") {
                if starts(bytes, "<!--", at: i) {
                    guard let end = find(bytes, "-->", from: i + 4) else { return .other }
                    if bytes[i..<end].contains(0) { return .notUTF8 }
                    i = end + 3
                    continue
                }
                // "<!DOCTYPE" (XML is case-sensitive; any spelling of it is refused).
                if i + 2 < n, bytes[i + 2] == UInt8(ascii: "D") || bytes[i + 2] == UInt8(ascii: "d") {
                    return .doctype
                }
                return .other
            }
            return .element
        }
        return .empty
    }

    private static func starts(_ bytes: UnsafeRawBufferPointer, _ pattern: StaticString, at i: Int)
        -> Bool
    {
        guard let base = bytes.baseAddress else { return false }
        return matches(pattern, at: base + i, end: base + bytes.count)
    }

    private static func find(
        _ bytes: UnsafeRawBufferPointer, _ pattern: StaticString, from start: Int
    ) -> Int? {
        guard let base = bytes.baseAddress, start < bytes.count else { return nil }
        return first(pattern, from: base + start, end: base + bytes.count).map { $0 - base }
    }

    /// What `scanMarkup` found.
    enum MarkupShape: Equatable {
        case fits
        case tooDeep
        case tooManyAttributes
        case tooManyNodes
        case hyphensInComment
    }

    /// Counts what libxml2 would build from `bytes` before it builds anything: start tags
    /// (and their depth), attributes (each quoted value inside a start tag), comments and
    /// processing instructions, and stops at the first limit passed (`MarkupLimits`).
    ///
    /// Written by hand because libxml2 2.9 offers no such limits, and reading past them is
    /// where the cost lies (see the top of this file). It is a count, not a parser: text is
    /// skipped with `memchr`, CDATA sections and comments by their end markers, quoted values
    /// by their closing quote, so a `>` or `<` inside them is not taken for markup.
    /// Malformed input is counted as far as it goes and left to libxml2 to refuse.
    static func scanMarkup(_ bytes: UnsafeRawBufferPointer) -> MarkupShape {
        guard bytes.count > MarkupLimits.scannedFrom, let start = bytes.baseAddress else { return .fits }
        let end = start + bytes.count
        var p = start
        var nodes = 0
        var depth = 0
        while p < end, let found = memchr(p, Int32(UInt8(ascii: "<")), end - p) {
            let lt = UnsafeRawPointer(found)
            var q = lt + 1
            guard q < end else { break }
            switch q.load(as: UInt8.self) {
            case UInt8(ascii: "!"):
                if matches("<!--", at: lt, end: end) {
                    nodes += 1
                    // "--" may only end a comment. libxml2 2.9 copies the comment read so far
                    // into the error for each "--" inside one: a 256 KB comment of hyphens
                    // took 11 seconds, a megabyte minutes.
                    guard let dashes = first("--", from: lt + 4, end: end), dashes + 2 < end else { break }
                    if (dashes + 2).load(as: UInt8.self) != UInt8(ascii: ">") { return .hyphensInComment }
                    p = dashes + 3
                } else if matches("<![CDATA[", at: lt, end: end) {
                    p = first("]]>", from: lt + 9, end: end).map { $0 + 3 } ?? end
                } else {
                    p = q + 1
                }
            case UInt8(ascii: "?"):
                nodes += 1
                p = first("?>", from: q + 1, end: end).map { $0 + 2 } ?? end
            case UInt8(ascii: "/"):
                depth = max(0, depth - 1)
                p = q + 1
            default:
                nodes += 1
                var attributes = 0
                var last: UInt8 = 0
                while q < end {
                    let b = q.load(as: UInt8.self)
                    if b == UInt8(ascii: ">") { break }
                    if b == UInt8(ascii: "\"") || b == UInt8(ascii: "'") {
                        attributes += 1
                        if attributes > MarkupLimits.attributesPerElement { return .tooManyAttributes }
                        guard let close = memchr(q + 1, Int32(b), end - q - 1) else {
                            q = end
                            break
                        }
                        q = UnsafeRawPointer(close) + 1
                        last = b
                        continue
                    }
                    last = b
                    q += 1
                }
                nodes += attributes
                if last != UInt8(ascii: "/") {
                    depth += 1
                    if depth > MarkupLimits.depth { return .tooDeep }
                }
                p = q + 1
            }
            if nodes > MarkupLimits.nodes { return .tooManyNodes }
        }
        return .fits
    }

    @inline(__always) private static func matches(
        _ pattern: StaticString, at p: UnsafeRawPointer, end: UnsafeRawPointer
    ) -> Bool {
        let count = pattern.utf8CodeUnitCount
        guard end - p >= count else { return false }
        return memcmp(p, pattern.utf8Start, count) == 0
    }

    /// Where the first `pattern` at or after `p` (and before `end`) starts, or nil.
    private static func first(
        _ pattern: StaticString, from p: UnsafeRawPointer, end: UnsafeRawPointer
    ) -> UnsafeRawPointer? {
        let firstByte = Int32(pattern.utf8Start.pointee)
        var p = p
        while p < end, let found = memchr(p, firstByte, end - p) {
            let candidate = UnsafeRawPointer(found)
            if matches(pattern, at: candidate, end: end) { return candidate }
            p = candidate + 1
        }
        return nil
    }

    static let doctypeMessage =
        "The file declares a DTD (<!DOCTYPE>); e-invoices never do, and ledgerd does not process DTDs or entities."

    /// Parses `bytes` and calls `body` with the root element. The element table is reused
    /// when `body` returns; nothing from it may escape except Swift values.
    static func withDocument<R>(
        _ bytes: UnsafeRawBufferPointer, _ body: (XMLElement) throws(Rejection) -> R
    ) throws(Rejection) -> R {
        _ = libxml2Initialised
        switch scanProlog(bytes) {
        case .empty:
            throw Rejection(
                "XML-MALFORMED",
                bytes.isEmpty ? "The file is empty." : "The file is empty (it contains only white space).")
        case .doctype:
            throw Rejection("XML-DOCTYPE", doctypeMessage)
        case .notUTF8:
            throw Rejection(
                "XML-MALFORMED",
                "The file is not UTF-8 text (it looks like UTF-16 or binary data); e-invoices are UTF-8 XML."
            )
        case .notMarkup:
            let what = describe(bytes)
            // A scan or a bank statement is surely no invoice: said so, with where it belongs.
            // A PDF may well be one, whose EHF the sender can send.
            if let belongs = what.belongs {
                throw Rejection("NOT-AN-INVOICE", "The file is not an invoice: \(what.text); \(belongs).")
            }
            throw Rejection("XML-MALFORMED", "The file is not XML: \(what.text); an EHF invoice is an XML file.")
        case .element, .other:
            break
        }
        switch scanMarkup(bytes) {
        case .fits:
            break
        case .tooDeep:
            throw Rejection(
                "XML-LIMIT",
                "The XML nests elements more than \(MarkupLimits.depth) levels deep; an invoice never does, so ledgerd does not read it."
            )
        case .tooManyAttributes:
            throw Rejection(
                "XML-LIMIT",
                "An XML element in the file has more than \(MarkupLimits.attributesPerElement) attributes; an invoice's elements have a few, so ledgerd does not read it."
            )
        case .hyphensInComment:
            throw Rejection(
                "XML-MALFORMED",
                "The XML has a comment containing \"--\", which XML does not allow; the file is damaged or was not written by invoicing software."
            )
        case .tooManyNodes:
            throw Rejection(
                "XML-LIMIT",
                "The file has more than 500,000 XML elements, attributes and comments, more than ledgerd reads from one invoice (about 15,000 invoice lines)."
            )
        }
        guard let base = bytes.baseAddress, bytes.count <= Int(Int32.max) else {
            throw Rejection("XML-MALFORMED", "The file is too large to be read as XML.")
        }
        guard let context = ParserContexts.acquire(), let table = ParserContexts.table(UnsafeMutableRawPointer(context))
        else {
            throw Rejection("XML-MALFORMED", "The XML parser could not start (out of memory).")
        }
        // Only a file larger than libxml2's 10 MB limit on one text can reach it; for such a
        // file (scanned, so its depth, nodes and attributes are bounded already) the limit is
        // lifted with HUGE, and an embedded attachment may be as large as the file size limit
        // allows. HUGE lifts libxml2's own depth limit too, which is why no other file gets it.
        let usesHuge = bytes.count > MarkupLimits.libxml2TextLength
        defer { ParserContexts.release(context, usedHuge: usesHuge) }
        let huge = usesHuge ? XML_PARSE_HUGE.rawValue : 0
        // No tree options (NOBLANKS, COMPACT): no tree is built. CDATA comes as text.
        let options: Int32 = Int32(
            bitPattern: XML_PARSE_NONET.rawValue | XML_PARSE_NOCDATA.rawValue | XML_PARSE_NOERROR.rawValue
                | XML_PARSE_NOWARNING.rawValue | XML_PARSE_IGNORE_ENC.rawValue | huge)
        table.pointee.reset()
        // IGNORE_ENC: the bytes scanned above are the bytes parsed as UTF-8, whatever the XML
        // declaration claims (EHF and PEPPOL BIS mandate UTF-8). A document that opens with
        // `<?xm` or a UTF-8 byte order mark is one libxml2 itself reads as UTF-8, natively;
        // naming the encoding for it would only route every byte through libxml2's UTF-8 to
        // UTF-8 converter (copied in chunks, ~1 % of the pipeline's time). Any other opening
        // is named UTF-8 so that libxml2 never guesses another encoding from its first bytes.
        // Without a startDocument callback libxml2 makes no document to return; one would be
        // freed all the same.
        // The text of a document is at most as long as the document: room for it at once, so
        // a large attachment's base64 is not copied from one doubled buffer into the next.
        table.pointee.bytes.reserve(bytes.count)
        // Handed over piece by piece as libxml2 asks, not as one block of memory: libxml2 2.9
        // copies a block whole into a buffer of its own first (the size of the file again,
        // 48 MB for an invoice carrying a large scan), where pieces pass through a buffer it
        // keeps small.
        var source = InputSource(base: UnsafeRawPointer(base), count: bytes.count)
        let document = withUnsafeMutablePointer(to: &source) { source in
            xmlCtxtReadIO(
                context, InputSource.read, nil, source, nil, Self.opensAsUTF8(bytes) ? nil : "UTF-8", options)
        }
        if let document { xmlFreeDoc(document) }
        if table.pointee.sawDoctype {
            // Defence in depth: the prolog scan should have caught any DTD already.
            throw Rejection("XML-DOCTYPE", doctypeMessage)
        }
        if context.pointee.errNo == Int32(XML_ERR_USER_STOP.rawValue) {
            // Stopped by the element callback; what was read so far may look well-formed.
            throw Rejection(
                "XML-LIMIT",
                "The file uses tens of thousands of different XML names; an invoice uses a few hundred, so ledgerd does not read it."
            )
        }
        guard context.pointee.wellFormed != 0 else { throw malformed(context) }
        guard table.pointee.elements.count > 0 else {
            throw Rejection("XML-MALFORMED", "The file has no XML root element.")
        }
        return try body(XMLElement(table: UnsafePointer(table), index: 0))
    }

    /// What a file that is not XML appears to be, from its first bytes, for the reason a
    /// bookkeeper reads: a PDF of an invoice dropped where its EHF belongs is the usual case.
    /// `belongs` says where a file goes that is surely no invoice: a scan (of a check, most
    /// often), or a Wise statement.
    static func describe(_ bytes: UnsafeRawBufferPointer) -> (text: String, belongs: String?) {
        let head = Array(bytes.prefix(8))
        func opens(_ signature: [UInt8]) -> Bool { head.starts(with: signature) }
        let scan = "a scanned check belongs in the checks inbox"
        if opens(Array("%PDF".utf8)) {
            return ("it is a PDF document", nil)
        }
        if opens([0x50, 0x4B, 0x03, 0x04]) {
            return (
                "it is a ZIP archive or an Office document (a zip of invoices: unpack it and drop the .xml files "
                    + "inside into the ehf inbox)", nil
            )
        }
        if opens([0x89, 0x50, 0x4E, 0x47]) { return ("it is a PNG image", scan) }
        if opens([0xFF, 0xD8, 0xFF]) { return ("it is a JPEG image", scan) }
        if opens([0x49, 0x49, 0x2A, 0x00]) || opens([0x4D, 0x4D, 0x00, 0x2A]) { return ("it is a TIFF image", scan) }
        let start = bytes.prefix(4096)
        guard !start.contains(where: { $0 < 0x20 && $0 != 0x09 && $0 != 0x0A && $0 != 0x0D }) else {
            return ("it holds binary data", nil)
        }
        // A byte order mark is no part of what the bookkeeper sees of the text.
        let unmarked = start.starts(with: [0xEF, 0xBB, 0xBF]) ? start.dropFirst(3) : start
        let text = unmarked.drop { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }
        let firstLine = String(decoding: text.prefix { $0 != 0x0A && $0 != 0x0D }.prefix(160), as: UTF8.self)
        // Every Wise statement export begins with this column.
        if firstLine.hasPrefix("\"TransferWise ID\"") || firstLine.hasPrefix("TransferWise ID") {
            return ("it is a Wise statement", "statements belong in the wise inbox")
        }
        return ("it begins with plain text (\"\(firstLine.prefix(40))\")", nil)
    }

    /// Whether libxml2, given no encoding, reads `bytes` as UTF-8 from its first four bytes:
    /// an XML declaration's `<?xm`, or the UTF-8 byte order mark.
    static func opensAsUTF8(_ bytes: UnsafeRawBufferPointer) -> Bool {
        starts(bytes, "<?xm", at: 0) || (bytes.count >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF)
    }

    /// libxml2's last error, said in plain words with its line.
    private static func malformed(_ context: UnsafeMutablePointer<xmlParserCtxt>) -> Rejection {
        guard let error = xmlCtxtGetLastError(UnsafeMutableRawPointer(context)) else {
            return Rejection("XML-MALFORMED", "The file is not well-formed XML.")
        }
        var reason = error.pointee.message.map { String(cString: $0) } ?? "unknown error"
        reason = reason.split(whereSeparator: { $0 == "\n" || $0 == "\r" }).map { $0.trimmingSpaces }
            .joined(
                separator: " ")
        let line = Int(error.pointee.line)
        let at = line > 0 ? " at line \(line)" : ""
        let code = Int(error.pointee.code)
        let text: String
        switch code {
        case Int(XML_ERR_DOCUMENT_EMPTY.rawValue):
            text = "The file is not XML: \(reason)\(at)."
        case Int(XML_ERR_INVALID_CHAR.rawValue) where reason.contains("UTF-8"),
            Int(XML_ERR_INVALID_ENCODING.rawValue):
            text = "The file is not valid UTF-8 text\(at) (libxml2: \(reason)); e-invoices must be UTF-8."
        case Int(XML_ERR_TAG_NOT_FINISHED.rawValue):
            text = "The XML ends too early\(at); the file looks truncated (libxml2: \(reason))."
        case Int(XML_ERR_DOCUMENT_END.rawValue):
            if reason.contains("Premature") {
                text = "The XML ends too early\(at); the file looks truncated (libxml2: \(reason))."
            } else {
                text = "The file has extra content after the XML document\(at) (libxml2: \(reason))."
            }
        case Int(XML_ERR_TAG_NAME_MISMATCH.rawValue):
            text = "An XML element is not closed properly\(at) (libxml2: \(reason))."
        case Int(XML_ERR_UNDECLARED_ENTITY.rawValue):
            text = "The XML uses an undefined entity\(at) (libxml2: \(reason))."
        default:
            if reason.contains("huge text node") || reason.contains("Huge input lookup") {
                return Rejection(
                    "XML-LIMIT",
                    "The file contains a text of more than 10 MB\(at) (such as a very large embedded attachment), more than ledgerd reads from one element."
                )
            } else if reason.contains("Excessive depth") {
                return Rejection(
                    "XML-LIMIT",
                    "The XML nests elements more than \(MarkupLimits.depth) levels deep\(at); an invoice never does, so ledgerd does not read it."
                )
            } else {
                text = "The file is not well-formed XML\(at) (libxml2: \(reason))."
            }
        }
        return Rejection("XML-MALFORMED", text)
    }

    /// Compares a NUL-terminated libxml2 string with a static ASCII string.
    @inline(__always) static func equal(_ a: UnsafePointer<xmlChar>?, _ b: StaticString) -> Bool {
        guard let a else { return false }
        let count = b.utf8CodeUnitCount
        let bp = b.utf8Start
        for i in 0..<count where a[i] != bp[i] { return false }
        return a[count] == 0
    }

    @inline(__always) static func isSpace(_ b: UInt8) -> Bool {
        b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D
    }

    /// Whether the `count` bytes at `text` are all white space (what `trim` removes).
    @inline(__always) static func isBlank(_ text: UnsafePointer<UInt8>, count: Int) -> Bool {
        for i in 0..<count where !isSpace(text[i]) { return false }
        return true
    }

    /// The buffer without leading and trailing XML white space.
    static func trim(_ buffer: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8> {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return buffer }
        var start = 0
        var end = buffer.count
        while start < end, isSpace(base[start]) { start += 1 }
        while end > start, isSpace(base[end - 1]) { end -= 1 }
        return UnsafeBufferPointer(start: base + start, count: end - start)
    }
}

/// What one document may contain (see the top of this file).
enum MarkupLimits {
    /// libxml2's own depth limit without XML_PARSE_HUGE, checked first by `scanMarkup`.
    static let depth = 256
    /// UBL elements carry one or two attributes; a root may declare a dozen namespaces.
    static let attributesPerElement = 256
    /// Elements, attributes, comments and processing instructions together. An invoice line
    /// takes about 30; the largest invoices seen have a few thousand lines.
    static let nodes = 500_000
    /// Smaller files are not scanned: they cannot hold more than about 4,000 nodes, and
    /// libxml2 needs milliseconds for even the worst of them (4,000 attributes on one
    /// element), while the scan would add about 2 % to every small invoice's cost.
    static let scannedFrom = 16 << 10
    /// libxml2's limit on one text (XML_MAX_TEXT_LENGTH) unless XML_PARSE_HUGE is given.
    static let libxml2TextLength = 10_000_000
}

extension Substring {
    fileprivate var trimmingSpaces: Substring {
        var s = self
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return s
    }
}
