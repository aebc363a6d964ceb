import Formats
import Foundation
import LedgerCore
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// DESIGN §4: hostile input is expected. Each case is rejected with the right code, quickly,
/// and without the parser doing anything else (no file read, no connection made).
@Suite("Hostile input")
struct HostileInputTests {
    static let ubl =
        #"xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2" xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2""#

    /// Parses `bytes`, asserting it is rejected with `code` in under two seconds.
    @discardableResult
    static func rejected(
        _ bytes: [UInt8], _ code: String, sourceLocation: SourceLocation = #_sourceLocation
    ) -> Rejection? {
        var result: Result<InvoiceDocument, Rejection>?
        let t = seconds { result = parseResult(bytes) }
        #expect(t < 2, "took \(t) s", sourceLocation: sourceLocation)
        let rejection = result?.rejection
        #expect(
            rejection?.code == code, "\(String(describing: rejection))", sourceLocation: sourceLocation)
        return rejection
    }

    @Test func externalEntityFromTheFileSystem() {
        let xml = """
            <?xml version="1.0" encoding="UTF-8"?>
            <!DOCTYPE Invoice [ <!ENTITY xxe SYSTEM "file:///etc/passwd"> ]>
            <Invoice \(Self.ubl)><cbc:ID>&xxe;</cbc:ID></Invoice>
            """
        let r = Self.rejected(Array(xml.utf8), "XML-DOCTYPE")
        #expect(
            r?.message
                == "The file declares a DTD (<!DOCTYPE>); e-invoices never do, and ledgerd does not process DTDs or entities."
        )
        #expect(r?.message.contains("root:") == false)
    }

    /// A listener on loopback proves that no connection is attempted for an http:// entity,
    /// a parameter entity or an external DTD.
    @Test func networkEntitiesConnectNowhere() throws {
        let listener = try LoopbackListener()
        defer { listener.close() }
        let url = "http://127.0.0.1:\(listener.port)/evil"
        let documents = [
            """
            <?xml version="1.0"?>
            <!DOCTYPE Invoice [ <!ENTITY xxe SYSTEM "\(url)"> ]>
            <Invoice \(Self.ubl)><cbc:ID>&xxe;</cbc:ID></Invoice>
            """,
            """
            <?xml version="1.0"?>
            <!DOCTYPE Invoice [ <!ENTITY % remote SYSTEM "\(url)/pe.dtd"> %remote; ]>
            <Invoice \(Self.ubl)><cbc:ID>1</cbc:ID></Invoice>
            """,
            """
            <?xml version="1.0"?>
            <!DOCTYPE Invoice SYSTEM "\(url)/external.dtd">
            <Invoice \(Self.ubl)><cbc:ID>1</cbc:ID></Invoice>
            """,
        ]
        for xml in documents { Self.rejected(Array(xml.utf8), "XML-DOCTYPE") }
        #expect(listener.pendingConnections() == 0)
    }

    @Test func parameterEntities() {
        let xml = """
            <?xml version="1.0"?>
            <!DOCTYPE Invoice [
              <!ENTITY % file SYSTEM "file:///etc/hostname">
              <!ENTITY % eval "<!ENTITY &#x25; exfil SYSTEM 'http://127.0.0.1:1/?x=%file;'>">
              %eval; %exfil;
            ]>
            <Invoice \(Self.ubl)/>
            """
        Self.rejected(Array(xml.utf8), "XML-DOCTYPE")
    }

    @Test func billionLaughs() {
        var dtd = "<!ENTITY lol0 \"lol\">\n"
        for i in 1...9 {
            dtd += "<!ENTITY lol\(i) \"" + String(repeating: "&lol\(i - 1);", count: 10) + "\">\n"
        }
        let xml =
            "<?xml version=\"1.0\"?>\n<!DOCTYPE Invoice [\n\(dtd)]>\n<Invoice \(Self.ubl)><cbc:ID>&lol9;</cbc:ID></Invoice>"
        Self.rejected(Array(xml.utf8), "XML-DOCTYPE")
    }

    @Test func quadraticBlowup() {
        let entity = String(repeating: "a", count: 100_000)
        let references = String(repeating: "&a;", count: 100_000)
        let xml =
            "<?xml version=\"1.0\"?>\n<!DOCTYPE Invoice [<!ENTITY a \"\(entity)\">]>\n<Invoice \(Self.ubl)><cbc:Note>\(references)</cbc:Note></Invoice>"
        Self.rejected(Array(xml.utf8), "XML-DOCTYPE")
    }

    /// The prolog scan skips comments and processing instructions properly: a DOCTYPE after
    /// them is still found, one merely mentioned in a comment is not a DOCTYPE.
    @Test func doctypeBehindCommentsAndABOM() throws {
        let hidden =
            "\u{FEFF}<?xml version=\"1.0\"?><!-- a comment --><?pi x?>\n<!DOCTYPE Invoice []><Invoice \(Self.ubl)/>"
        Self.rejected(Array(hidden.utf8), "XML-DOCTYPE")
        var t = Template()
        t.number = "MENTION-1"
        let mentioned = t.xml.replacingOccurrences(
            of: "<?xml version=\"1.0\" encoding=\"UTF-8\"?>",
            with: "<?xml version=\"1.0\" encoding=\"UTF-8\"?><!-- no <!DOCTYPE> here -->")
        #expect(parseResult(mentioned).document?.number == "MENTION-1")
    }

    /// UTF-16 could hide a DOCTYPE from a byte scan: it is refused before libxml2 sees it.
    @Test func utf16IsRefused() {
        let xml =
            "<?xml version=\"1.0\" encoding=\"UTF-16\"?><!DOCTYPE Invoice [<!ENTITY a \"b\">]><Invoice \(Self.ubl)/>"
        var bytes: [UInt8] = [0xFF, 0xFE]
        for unit in xml.utf16 { bytes += [UInt8(unit & 0xFF), UInt8(unit >> 8)] }
        let r = Self.rejected(bytes, "XML-MALFORMED")
        #expect(r?.message.contains("not UTF-8") == true)
        Self.rejected(Array(bytes.dropFirst(2)), "XML-MALFORMED")  // without the byte order mark
    }

    @Test func truncatedFile() throws {
        let bytes = try Fixture.bytes("valid", "ehf3_faktura-1_NOK.xml")
        let r = Self.rejected(Array(bytes.prefix(bytes.count / 2)), "XML-MALFORMED")
        #expect(r?.message.contains("truncated") == true)
        #expect(r?.message.contains("line") == true)
    }

    /// The parser reads a document followed by white space (see `InputSource`): cut anywhere
    /// among its last closing tags, an invoice is still rejected, on the line where it was cut,
    /// as truncated unless the cut falls inside the root's own end tag; anything after its root
    /// element is still extra content on its own line.
    @Test func cutsNearTheEndAndContentAfterTheRoot() throws {
        let bytes = try Fixture.bytes("valid", "ehf3_faktura-1_NOK.xml")
        let end = try #require(bytes.lastIndex(of: UInt8(ascii: ">"))) + 1
        let rootEndTag = try #require(bytes.lastIndex(of: UInt8(ascii: "<")))
        for cut in stride(from: end - 1, to: end - 400, by: -7) {
            let truncated = Array(bytes.prefix(cut))
            let line = truncated.count(where: { $0 == UInt8(ascii: "\n") }) + 1
            let message = Self.rejected(truncated, "XML-MALFORMED")?.message ?? ""
            #expect(
                message.contains("at line \(line);") || message.contains("at line \(line) ("),
                "cut at \(cut): \(message)")
            if cut <= rootEndTag { #expect(message.contains("truncated"), "cut at \(cut): \(message)") }
        }
        let whole = Array(bytes.prefix(end))
        #expect(parseResult(whole).rejection == nil)
        #expect(parseResult(whole + Array("\n \n".utf8)).rejection == nil)
        let lines = whole.count(where: { $0 == UInt8(ascii: "\n") }) + 1
        for extra in ["x", "\n<Invoice/>", "\n \n&amp;"] {
            let r = Self.rejected(whole + Array(extra.utf8), "XML-MALFORMED")
            let at = lines + extra.utf8.count(where: { $0 == UInt8(ascii: "\n") })
            #expect(r?.message.contains("extra content") == true, "\(extra): \(r?.message ?? "")")
            #expect(r?.message.contains("at line \(at) ") == true, "\(extra): \(r?.message ?? "")")
        }
    }

    @Test func binaryJunk() {
        var generator = SplitMix64(seed: 42)
        let junk = (0..<65_536).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        Self.rejected(junk, "XML-MALFORMED")
        // Printable junk (no NUL bytes) gets libxml2's own reason.
        let printable = (0..<4_096).map { _ in UInt8(0x21 + generator.next() % 90) }.filter {
            $0 != UInt8(ascii: "<")
        }
        let r = Self.rejected(printable, "XML-MALFORMED")
        #expect(r?.message.contains("not XML") == true)
    }

    /// A file that is not XML at all is refused by its first bytes, saying what it is, before
    /// the markup scan can mistake a PDF's `<<` dictionaries for deeply nested elements.
    @Test func filesThatAreNotXMLAreNamedForWhatTheyAre() throws {
        let invoice = try #require(
            parseResult(try Fixture.bytes("valid", "cef_IT_G2G_real-embedded-pdf_split-payment.xml")).document)
        let pdf = try #require(invoice.attachments.first?.bytes)
        #expect(pdf.starts(with: Array("%PDF".utf8)))
        let cases: [([UInt8], String)] = [
            (pdf, "it is a PDF document"),
            ([0x50, 0x4B, 0x03, 0x04] + Array(repeating: 0, count: 64), "it is a ZIP archive"),
            (
                Array("\n  Faktura 2024-117 for oktober\nBeløp: 1 250,00\n".utf8),
                "it begins with plain text (\"Faktura 2024-117 for oktober\")"
            ),
            // A byte order mark is not quoted.
            ([0xEF, 0xBB, 0xBF] + Array("Faktura 7\n".utf8), "it begins with plain text (\"Faktura 7\")"),
            ([0x01, 0x02, 0x03, 0x3C, 0x3C], "it holds binary data"),
        ]
        for (bytes, says) in cases {
            let r = Self.rejected(bytes, "XML-MALFORMED")
            #expect(r?.message.hasPrefix("The file is not XML: \(says)") == true, "\(String(describing: r))")
        }
        // A scan or a Wise statement is surely no invoice, and has an inbox of its own.
        let check = "; a scanned check belongs in the checks inbox."
        let elsewhere: [([UInt8], String)] = [
            (
                [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + Array(repeating: 7, count: 64),
                "it is a PNG image" + check
            ),
            ([0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10] + Array("JFIF".utf8), "it is a JPEG image" + check),
            (Array("II*\u{0}".utf8) + Array(repeating: 1, count: 32), "it is a TIFF image" + check),
            (
                // As Wise exports it, saved again by a spreadsheet that writes a byte order mark.
                [0xEF, 0xBB, 0xBF]
                    + Array(
                        "\"TransferWise ID\",Date,\"Date Time\",Amount,Currency,Description,\"Payment Reference\"\r\nTRANSFER-1,\r\n"
                            .utf8),
                "it is a Wise statement; statements belong in the wise inbox."
            ),
        ]
        for (bytes, says) in elsewhere {
            let r = Self.rejected(bytes, "NOT-AN-INVOICE")
            #expect(r?.message == "The file is not an invoice: \(says)", "\(String(describing: r))")
        }
    }

    @Test func latin1DeclaredAsUTF8() {
        var t = Template()
        t.supplier = Template.supplier(vat: "NO811143758MVA").replacingOccurrences(
            of: "Havblikk Nett AS", with: "BLÅBÆR")
        var bytes: [UInt8] = []
        // Latin-1
        for scalar in t.xml.unicodeScalars { bytes.append(UInt8(truncatingIfNeeded: scalar.value)) }
        let r = Self.rejected(bytes, "XML-MALFORMED")
        #expect(r?.message.contains("not valid UTF-8") == true)
        // An ISO-8859-1 declaration does not change that: EHF is UTF-8.
        var latin1Declared = Array("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>".utf8)
        latin1Declared += bytes.drop { $0 != UInt8(ascii: "\n") }
        Self.rejected(latin1Declared, "XML-MALFORMED")
    }

    /// Only UTF-8 is read: libxml2 is never left to guess another encoding from the first
    /// bytes. A complete invoice in EBCDIC (whose first bytes are `<?xm` in EBCDIC) is refused,
    /// while the same invoice in UTF-8, with a byte order mark or without an XML declaration,
    /// reads as usual.
    @Test func noOtherEncodingIsGuessed() throws {
        var t = Template()
        t.number = "ENCODING-1"
        let xml = t.xml.replacingOccurrences(of: "encoding=\"UTF-8\"", with: "encoding=\"IBM037\"")
        let ebcdic = try Self.convert(xml, to: "IBM037")
        #expect(ebcdic.prefix(4) == [0x4C, 0x6F, 0xA7, 0x94])
        Self.rejected(ebcdic, "XML-MALFORMED")

        #expect(parseResult([0xEF, 0xBB, 0xBF] + Array(t.xml.utf8)).document?.number == "ENCODING-1")
        let undeclared = t.xml.drop { $0 != "\n" }.dropFirst()
        #expect(undeclared.hasPrefix("<Invoice"))
        #expect(parseResult(String(undeclared)).document?.number == "ENCODING-1")
    }

    /// `text` in another character set, through the C library's iconv.
    static func convert(_ text: String, to charset: String) throws -> [UInt8] {
        let converter = iconv_open(charset, "UTF-8")
        try #require(converter != iconv_t(bitPattern: -1), "iconv cannot convert to \(charset) here")
        defer { iconv_close(converter) }
        var input = Array(text.utf8).map { CChar(bitPattern: $0) }
        var output = [CChar](repeating: 0, count: input.count * 4)
        var inLeft = input.count
        var outLeft = output.count
        let status = input.withUnsafeMutableBufferPointer { inBuffer in
            output.withUnsafeMutableBufferPointer { outBuffer in
                var inPointer: UnsafeMutablePointer<CChar>? = inBuffer.baseAddress
                var outPointer: UnsafeMutablePointer<CChar>? = outBuffer.baseAddress
                return iconv(converter, &inPointer, &inLeft, &outPointer, &outLeft)
            }
        }
        try #require(status != -1 && inLeft == 0, "iconv could not convert the text to \(charset)")
        return output.prefix(output.count - outLeft).map { UInt8(bitPattern: $0) }
    }

    @Test func emptyAndBlankFiles() {
        #expect(Self.rejected([], "XML-MALFORMED")?.message == "The file is empty.")
        #expect(
            Self.rejected(Array("  \n\t ".utf8), "XML-MALFORMED")?.message.contains("empty") == true)
        Self.rejected(Array("<?xml version=\"1.0\"?>".utf8), "XML-MALFORMED")
    }

    /// 100 MB of nested elements: refused by the depth limit libxml2 also keeps.
    @Test func hundredMegabytesOfNesting() {
        let bytes = Array(String(repeating: "<a>", count: 33_333_333).utf8)
        #expect(bytes.count == 99_999_999)
        let r = Self.rejected(bytes, "XML-LIMIT")
        #expect(r?.message.contains("more than 256 levels deep") == true)
        // 257 levels in a small file (not scanned before parsing): libxml2's own limit.
        let small = String(repeating: "<a>", count: 300) + String(repeating: "</a>", count: 300)
        #expect(Self.rejected(Array(small.utf8), "XML-LIMIT")?.message.contains("levels deep") == true)
    }

    /// libxml2 limits one text to 10 MB unless told otherwise; a scanned file (whose depth,
    /// nodes and attributes are bounded) lifts that, so an embedded attachment of 30 MB, as
    /// large as a file within the default size limit can carry, is kept byte for byte.
    @Test func attachmentBeyondTenMegabytes() throws {
        var generator = SplitMix64(seed: 7)
        let pdf = (0..<(30 << 20) / 8).flatMap { _ in withUnsafeBytes(of: generator.next()) { Array($0) } }
        var t = Template()
        t.references =
            "<cac:AdditionalDocumentReference><cbc:ID>SCAN</cbc:ID><cac:Attachment>"
            + "<cbc:EmbeddedDocumentBinaryObject mimeCode=\"application/pdf\" filename=\"scan.pdf\">"
            + Data(pdf).base64EncodedString(options: .lineLength76Characters)
            + "</cbc:EmbeddedDocumentBinaryObject></cac:Attachment></cac:AdditionalDocumentReference>"
        var result: Result<InvoiceDocument, Rejection>?
        let s = seconds { result = parseResult(t.xml) }
        let document = try #require(result?.document, "\(String(describing: result?.rejection))")
        #expect(document.attachments.map(\.filename) == ["scan.pdf"])
        #expect(document.attachments.first?.bytes == pdf)
        #expect(s < 5, "took \(s) s")
        // libxml2 keeps HUGE on a context once set: the next small file on this thread must
        // still meet libxml2's own depth limit (it is not scanned).
        let deep = String(repeating: "<a>", count: 300) + String(repeating: "</a>", count: 300)
        #expect(Self.rejected(Array(deep.utf8), "XML-LIMIT")?.message.contains("levels deep") == true)
    }

    /// 48 MB of empty elements, comments or processing instructions, within the default size
    /// limit: each would be a node of the tree (1.7 GB for the elements). Counted and refused
    /// before libxml2 builds anything.
    @Test func millionsOfNodes() {
        for (piece, count) in [("<a/>", 12_000_000), ("<!---->", 6_800_000), ("<?p?>", 9_600_000)] {
            let text = "<Invoice \(Self.ubl)>" + String(repeating: piece, count: count) + "</Invoice>"
            let r = Self.rejected(Array(text.utf8), "XML-LIMIT")
            #expect(r?.message.contains("more than 500,000 XML elements") == true, "\(piece)")
        }
        // Attributes count too: 200,000 elements of three attributes each.
        let attributed =
            "<Invoice \(Self.ubl)>" + String(repeating: "<a x=\"\" y=\"\" z=\"\"/>", count: 200_000) + "</Invoice>"
        Self.rejected(Array(attributed.utf8), "XML-LIMIT")
    }

    /// libxml2 2.9 compares every attribute of an element with every other: 200,000 of them
    /// (2 MB) took 85 seconds. More than 256 on one element is refused before parsing, also
    /// when a quoted `>` comes first (the scan does not take it for the end of the tag).
    @Test func attributesOnOneElement() {
        let many = (0..<200_000).map { "a\($0)=\"\"" }.joined(separator: " ")
        let r = Self.rejected(Array("<Invoice \(Self.ubl) \(many)/>".utf8), "XML-LIMIT")
        #expect(r?.message.contains("more than 256 attributes") == true)
        let hidden =
            "<Invoice \(Self.ubl)><cbc:Note>\(String(repeating: "x", count: 20_000))</cbc:Note>"
            + "<a q='>' \((0..<300).map { "b\($0)=\"<\"" }.joined(separator: " "))/></Invoice>"
        Self.rejected(Array(hidden.utf8), "XML-LIMIT")
    }

    /// libxml2 2.9 copies a comment read so far into an error for each "--" inside it: a
    /// megabyte of hyphens took minutes. Refused by the scan, ended or not.
    @Test func hyphensInAComment() {
        let hyphens = String(repeating: "-", count: 1 << 20)
        for comment in ["<!--" + hyphens, "<!--" + hyphens + "-->", "<!-- a -- b -->" + hyphens] {
            let r = Self.rejected(Array("<Invoice \(Self.ubl)>\(comment)</Invoice>".utf8), "XML-MALFORMED")
            #expect(r?.message.contains("comment containing \"--\"") == true)
        }
    }

    /// libxml2 2.9's name dictionary slows down as it grows (a million different element
    /// names took 19 seconds): a document is stopped once it has brought in tens of thousands.
    @Test func tensOfThousandsOfNames() {
        let names = (0..<40_000).map { "<n\($0)/>" }.joined()
        let r = Self.rejected(Array("<Invoice \(Self.ubl)>\(names)</Invoice>".utf8), "XML-LIMIT")
        #expect(r?.message.contains("different XML names") == true)
        // The parser's dictionary is kept between documents: the next one reads normally.
        #expect(parseResult(Template().xml).document?.number == "INV-1")
    }

    /// Large enough to be scanned before parsing, and full of what the scan must step over
    /// correctly: comments and CDATA containing markup characters, quoted `>` and `/>` in
    /// attributes, processing instructions, and 20,000 unknown elements. It is read as usual.
    @Test func largeValidInvoiceWithTrickyMarkup() {
        var t = Template()
        t.references =
            "<!-- <a> <b x=\"1\"> - c --><?note <c>?><cbc:Note><![CDATA[ <<<d>>> ]]></cbc:Note>"
            + "<cbc:Note>\(String(repeating: "a &lt; b &gt; c ", count: 2_000))</cbc:Note>"
            + String(repeating: "<cbc:Note q='>' r=\"/>\">x</cbc:Note>", count: 20_000)
        let bytes = Array(t.xml.utf8)
        #expect(bytes.count > 16 << 10)
        var result: Result<InvoiceDocument, Rejection>?
        let s = seconds { result = parseResult(bytes) }
        #expect(result?.document?.number == "INV-1", "\(String(describing: result?.rejection))")
        #expect(s < 2, "took \(s) s")
    }

    /// Millions of sibling elements inside a valid invoice are bounded work (no quadratic
    /// behaviour): the document is read, the noise ignored.
    @Test func manyUnknownSiblings() {
        var t = Template()
        t.references = String(repeating: "<cbc:Note>n</cbc:Note>", count: 200_000)
        let bytes = Array(t.xml.utf8)
        var result: Result<InvoiceDocument, Rejection>?
        let s = seconds { result = parseResult(bytes) }
        #expect(result?.document?.number == "INV-1")
        #expect(s < 5, "took \(s) s")
    }

    @Test func undefinedEntityWithoutDTD() {
        let r = Self.rejected(
            Array("<Invoice \(Self.ubl)><cbc:ID>&xxe;</cbc:ID></Invoice>".utf8), "XML-MALFORMED")
        #expect(r?.message.contains("undefined entity") == true)
    }

    /// A value of megabytes would be posted, listed and logged as it stands: identifiers of
    /// more than 200 characters and names of more than 4,000 are refused, and a message never
    /// quotes more than a few dozen characters of a value.
    @Test func absurdlyLongValues() {
        var t = Template()
        t.number = String(repeating: "N", count: 1 << 20)
        let number = parseResult(t.xml).rejection
        #expect(number?.code == "INVALID-VALUE")
        #expect(
            number?.message
                == "The invoice number (cbc:ID) is 1,048,576 characters long; ledgerd keeps identifiers and codes of up to 200."
        )

        t = Template()
        t.lines =
            t.line("1", quantity: "2", net: "1000.00", price: "500.00").replacingOccurrences(
                of: "Item 1", with: String(repeating: "ø", count: 4_001))
            + t.line("2", quantity: "1", net: "200.00", price: "200.00", percent: "15")
        let name = parseResult(t.xml).rejection
        #expect(name?.code == "INVALID-VALUE")
        #expect(name?.message.contains("item name of line 1 (cac:Item/cbc:Name) is 4,001 characters") == true)
        // 4,000 characters (8,000 bytes of UTF-8) are kept.
        t.lines = t.lines?.replacingOccurrences(
            of: String(repeating: "ø", count: 4_001), with: String(repeating: "ø", count: 4_000))
        #expect(parseResult(t.xml).document?.lines.first?.itemName.count == 4_000)

        // Each party's values, the seller's and the buyer's, named with the party.
        t = Template()
        t.supplier = t.supplier.replacingOccurrences(
            of: "<cbc:Name>Havblikk Nett AS</cbc:Name>",
            with: "<cbc:Name>\(String(repeating: "n", count: 4_001))</cbc:Name>")
        #expect(
            parseResult(t.xml).rejection?.message
                == "The seller's name (cac:PartyName/cbc:Name) is 4,001 characters long; ledgerd keeps names and descriptions of up to 4,000."
        )
        t = Template()
        t.customer = t.customer.replacingOccurrences(
            of: ">987654325</cbc:EndpointID>", with: ">\(String(repeating: "9", count: 201))</cbc:EndpointID>")
        #expect(
            parseResult(t.xml).rejection?.message
                == "The buyer's electronic address (cbc:EndpointID) is 201 characters long; ledgerd keeps identifiers and codes of up to 200."
        )

        t = Template()
        t.customization = String(repeating: "urn:x:", count: 200_000)
        let quoted = parseResult(t.xml).rejection
        #expect(quoted?.code == "EHF-UNSUPPORTED")
        #expect((quoted?.message.count ?? .max) < 400, "\(quoted?.message.prefix(500) ?? "")")
    }

    /// Absurd numbers are rejected or reported, never a crash.
    @Test func absurdNumbers() {
        var t = Template()
        t.lines = t.line(
            "1", quantity: "999999999999999999999999999", net: "1000.00",
            price: "99999999999999999.123456789")  // 26 significant digits
        let d = parseResult(t.xml).document
        #expect(d != nil)
        if let d { #expect(violationCodes(d).contains("PEPPOL-EN16931-R120")) }

        t.lines = t.line(
            "1", quantity: "1" + String(repeating: "0", count: 40), net: "1000.00", price: "1")
        #expect(parseResult(t.xml).rejection?.code == "INVALID-VALUE")

        // Int64.max + 1 øre
        t.lines = t.line("1", quantity: "2", net: "92233720368547758.08", price: "1")
        #expect(parseResult(t.xml).rejection?.code == "INVALID-VALUE")
        t.lines = t.line(
            "1", quantity: "1", net: "1000.00", price: "1" + String(repeating: "0", count: 30))
        #expect(parseResult(t.xml).rejection?.code == "INVALID-VALUE")

        // Two lines whose sum passes Int64: validate reports it (posting would overflow).
        t.lines =
            t.line("1", quantity: "1", net: "92233720368547758.00", price: "92233720368547758.00")
            + t.line("2", quantity: "1", net: "92233720368547758.00", price: "92233720368547758.00")
        let big = parseResult(t.xml).document
        #expect(big != nil)
        if let big { #expect(violationCodes(big).contains("BR-CO-10")) }
    }

    /// Different documents parsed on several threads at once give the same results as one
    /// after the other.
    @Test func parsingIsSafeOnSeveralThreads() async throws {
        let names = Fixture.names("valid").filter { !$0.hasPrefix("cef_IT") } + Fixture.names("invalid")
        let files = try names.map { name in
            try Fixture.bytes(Fixture.names("valid").contains(name) ? "valid" : "invalid", name)
        }
        let expected = files.map { describe(parseResult($0)) }
        let results = await withTaskGroup(of: [String].self) { group in
            for _ in 0..<4 {
                group.addTask {
                    var out: [String] = []
                    for _ in 0..<25 {
                        for f in files { out.append(describe(parseResult(f))) }
                    }
                    return out
                }
            }
            var all: [[String]] = []
            for await r in group { all.append(r) }
            return all
        }
        for r in results {
            #expect(r == Array(repeating: expected, count: 25).flatMap { $0 })
        }
    }
}

private func describe(_ r: Result<InvoiceDocument, Rejection>) -> String {
    switch r {
    case .success(let d):
        return "\(d.number) \(d.totals.payable) \(d.lines.count) \(EHF.validate(d).map(\.code))"
    case .failure(let e): return e.description
    }
}

/// A deterministic pseudo-random generator for junk bytes.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A TCP listener on 127.0.0.1 (ephemeral port) that never accepts: connections made to it
/// stay pending and can be counted.
final class LoopbackListener {
    let fd: Int32
    let port: UInt16

    struct Failure: Error {}

    init() throws {
        #if canImport(Glibc)
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
            let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw Failure() }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, listen(fd, 16) == 0 else {
            closeDescriptor(fd)
            throw Failure()
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        self.fd = fd
        self.port = UInt16(bigEndian: address.sin_port)
    }

    /// Connections waiting to be accepted (each one accepted and closed to count it).
    func pendingConnections() -> Int {
        var count = 0
        while true {
            let client = accept(fd, nil, nil)
            if client < 0 { break }
            count += 1
            closeDescriptor(client)
        }
        return count
    }

    func close() { closeDescriptor(fd) }
}

private func closeDescriptor(_ fd: Int32) {
    #if canImport(Glibc)
        _ = Glibc.close(fd)
    #else
        _ = Darwin.close(fd)
    #endif
}
