using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Vessel.Server.Inventory.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class VmPlacementRules : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "KeepApartFrom",
                table: "Vms",
                type: "text",
                nullable: false,
                defaultValue: "",
                collation: "C");

            migrationBuilder.AddColumn<string>(
                name: "KeepTogetherWith",
                table: "Vms",
                type: "text",
                nullable: false,
                defaultValue: "",
                collation: "C");

            migrationBuilder.AddColumn<bool>(
                name: "PinToHost",
                table: "Vms",
                type: "boolean",
                nullable: false,
                defaultValue: false);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "KeepApartFrom",
                table: "Vms");

            migrationBuilder.DropColumn(
                name: "KeepTogetherWith",
                table: "Vms");

            migrationBuilder.DropColumn(
                name: "PinToHost",
                table: "Vms");
        }
    }
}
