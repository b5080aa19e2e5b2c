/// XEP-0004: Data Forms (`jabber:x:data`) §3: the form, its fields and a submission.
///
/// Only the single-item shape is modelled (title, instructions, fields); `<reported/>` and
/// `<item/>` tables of type result (§3.4) are not needed by anything tern fills in, and
/// are ignored rather than rejected. Server text is kept verbatim: sanitising for the
/// terminal is the Shell's job, and doing it here would corrupt values we send back.
public struct DataForm: Sendable, Equatable {
    /// The form's role in the exchange (§3.1).
    public enum Kind: String, Sendable, Equatable, CaseIterable {
        case form, submit, cancel, result
    }

    /// Field types of §3.3. Anything unknown is text-single, as §3.2 requires.
    public enum FieldType: String, Sendable, Equatable, CaseIterable {
        case boolean
        case fixed
        case hidden
        case jidMulti = "jid-multi"
        case jidSingle = "jid-single"
        case listMulti = "list-multi"
        case listSingle = "list-single"
        case textMulti = "text-multi"
        case textPrivate = "text-private"
        case textSingle = "text-single"

        public init(attribute: String?) {
            self = attribute.flatMap(FieldType.init(rawValue:)) ?? .textSingle
        }

        /// Types that may carry several `<value/>` elements (§3.2).
        public var allowsMultipleValues: Bool {
            switch self {
            case .jidMulti, .listMulti, .textMulti, .hidden: true
            default: false
            }
        }
    }

    /// One choice of a list-single or list-multi field.
    public struct Option: Sendable, Equatable {
        public var label: String?
        public var value: String

        public init(label: String? = nil, value: String) {
            self.label = label
            self.value = value
        }
    }

    public struct Field: Sendable, Equatable {
        /// Required for every type but fixed (§3.2); nil only on malformed or fixed fields.
        public var variable: String?
        public var type: FieldType
        public var label: String?
        public var description: String?
        public var isRequired: Bool
        /// Defaults in a form, answers in a submission, data in a result.
        public var values: [String]
        public var options: [Option]
        /// A XEP-0221 `<media/>` inside the field: typically a CAPTCHA picture or sound.
        public var hasMedia: Bool
        /// The media's `<uri/>` values (http:, cid:, …), in document order.
        public var mediaURIs: [String]

        public init(
            variable: String?, type: FieldType = .textSingle, label: String? = nil, description: String? = nil,
            isRequired: Bool = false, values: [String] = [], options: [Option] = [],
            hasMedia: Bool = false, mediaURIs: [String] = []
        ) {
            self.variable = variable
            self.type = type
            self.label = label
            self.description = description
            self.isRequired = isRequired
            self.values = values
            self.options = options
            self.hasMedia = hasMedia || !mediaURIs.isEmpty
            self.mediaURIs = mediaURIs
        }

        /// Parses a `<field/>` of `jabber:x:data`.
        public init(_ element: Element) {
            let media = element.children("media", namespace: NS.mediaElement)
            self.init(
                variable: element["var"],
                type: FieldType(attribute: element["type"]),
                label: element["label"],
                description: element.childText("desc", namespace: NS.dataForms),
                isRequired: element.child("required", namespace: NS.dataForms) != nil,
                values: element.children("value", namespace: NS.dataForms).map(\.text),
                options: element.children("option", namespace: NS.dataForms).compactMap { option in
                    // §3.2: exactly one <value/>; an option without one cannot be chosen.
                    option.childText("value", namespace: NS.dataForms).map { Option(label: option["label"], value: $0) }
                },
                hasMedia: !media.isEmpty,
                mediaURIs: media.flatMap { $0.children("uri", namespace: NS.mediaElement).map(\.text) })
        }

        /// The full field, as a form-processing entity would send it.
        public var element: Element {
            var attributes = ["type": type.rawValue]
            if let variable { attributes["var"] = variable }
            if let label { attributes["label"] = label }
            var children: [Element] = []
            if let description { children.append(DataForm.textElement("desc", description)) }
            if isRequired { children.append(Element("required", namespace: NS.dataForms)) }
            children += values.map { DataForm.textElement("value", $0) }
            children += options.map { option in
                Element(
                    "option", namespace: NS.dataForms,
                    attributes: option.label.map { ["label": $0] } ?? [:],
                    elements: [DataForm.textElement("value", option.value)])
            }
            return Element("field", namespace: NS.dataForms, attributes: attributes, elements: children)
        }
    }

    public var type: Kind
    public var title: String?
    public var instructions: [String]
    public var fields: [Field]

    public init(type: Kind, title: String? = nil, instructions: [String] = [], fields: [Field] = []) {
        self.type = type
        self.title = title
        self.instructions = instructions
        self.fields = fields
    }

    /// Parses `<x xmlns='jabber:x:data' type='…'>`; nil when it is not one, or its type
    /// is missing or unknown (then the form's role, and so how to answer it, is unknown).
    public init?(_ element: Element) {
        guard element.matches("x", NS.dataForms),
              let type = element["type"].flatMap(Kind.init(rawValue:))
        else { return nil }
        self.init(
            type: type,
            title: element.childText("title", namespace: NS.dataForms),
            instructions: element.children("instructions", namespace: NS.dataForms).map(\.text),
            fields: element.children("field", namespace: NS.dataForms).map(Field.init))
    }

    /// The value of the hidden FORM_TYPE field (XEP-0068 §3); a FORM_TYPE that is not
    /// hidden is ignored, as XEP-0068 asks.
    public var formType: String? {
        fields.first { $0.variable == "FORM_TYPE" && $0.type == .hidden }?.values.first
    }

    public func field(_ variable: String) -> Field? {
        fields.first { $0.variable == variable }
    }

    /// The whole form as an element, e.g. to answer with a form of our own.
    public var element: Element {
        var children: [Element] = []
        if let title { children.append(DataForm.textElement("title", title)) }
        children += instructions.map { DataForm.textElement("instructions", $0) }
        children += fields.map(\.element)
        return Element("x", namespace: NS.dataForms, attributes: ["type": type.rawValue], elements: children)
    }

    /// The `<x type='submit'/>` answering this form (§3.1).
    ///
    /// Hidden fields go back with the values the server gave, whatever `values` says
    /// (§3.3: the submitter should not modify them; FORM_TYPE is one). Fixed fields are
    /// presentation only and are left out. A field missing from `values` keeps its
    /// default; one with neither is left out rather than sent empty. Variables that
    /// are not in the form are appended (allowed by §3.1), sorted for stable output.
    public func submission(_ values: [String: [String]]) -> Element {
        var seen = Set<String>()
        var children: [Element] = []
        for field in fields {
            guard field.type != .fixed, let variable = field.variable, seen.insert(variable).inserted else { continue }
            let answer: [String]
            if field.type == .hidden {
                answer = field.values
            } else {
                answer = values[variable] ?? field.values
            }
            if answer.isEmpty, field.type != .hidden { continue }
            children.append(DataForm.submittedField(variable, type: field.type, values: answer))
        }
        for variable in values.keys.sorted() where !seen.contains(variable) {
            children.append(DataForm.submittedField(variable, type: nil, values: values[variable] ?? []))
        }
        return Element("x", namespace: NS.dataForms, attributes: ["type": Kind.submit.rawValue], elements: children)
    }

    private static func submittedField(_ variable: String, type: FieldType?, values: [String]) -> Element {
        var attributes = ["var": variable]
        if let type { attributes["type"] = type.rawValue }
        return Element(
            "field", namespace: NS.dataForms, attributes: attributes,
            elements: values.map { textElement("value", $0) })
    }

    private static func textElement(_ name: String, _ text: String) -> Element {
        Element(name, namespace: NS.dataForms, elements: [], text: text)
    }
}
